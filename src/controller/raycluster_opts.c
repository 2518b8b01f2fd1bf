/* raycluster_opts.c - defaults for struct raycluster_opts (see raycluster_opts.h). */
#include "controller/raycluster_opts.h"

#include <string.h>

void raycluster_opts_default(struct raycluster_opts *o)
{
    memset(o, 0, sizeof(*o));
    raycluster_gates_default(&o->gates);
    o->kuberay_version = "kuberay-c";
    o->init_container_injection = true;
    o->probes_injection = true;
}

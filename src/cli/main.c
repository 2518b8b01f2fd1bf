/* main.c - the kubectl-ray binary: `kubectl ray ...` runs it with the words after "ray". Everything
 * else lives in the krc_cli library (commands.c), so unit tests reach every part of it. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}

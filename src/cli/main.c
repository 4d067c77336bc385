/* main.c: the hyscale program: dispatches to one subcommand. */
#include <stdio.h>

int main(void)
{
    puts("hyscale");
    return 0;
}

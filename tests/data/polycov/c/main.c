#include <stdio.h>
#include "calc.h"

int main(void)
{
    int total = clamp(5, 0, 10) + clamp(-3, 0, 10) + classify(4) + classify(3);
    if (total != 8) {
        printf("unexpected %d\n", total);
        return 1;
    }
    printf("c tests passed\n");
    return 0;
}

#include "calc.h"

int clamp(int value, int low, int high)
{
    if (value < low)
        return low;
    if (value > high)
        return high;
    return value;
}

int classify(int x)
{
    if (x > 0 && x % 2 == 0)
        return 2;
    else if (x > 0)
        return 1;
    return 0;
}

int unused(int x)
{
    int y = x * 3;
    return y + 1;
}

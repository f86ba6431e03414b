int clamp(int value, int low, int high);
int classify(int x);
int unused(int x);

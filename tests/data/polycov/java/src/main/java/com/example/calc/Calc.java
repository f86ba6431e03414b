package com.example.calc;

import java.util.List;
import java.util.function.IntUnaryOperator;

public class Calc {
    public static int clamp(int value, int low, int high) {
        if (value < low) {
            return low;
        }
        if (value > high) {
            return high;
        }
        return value;
    }

    public static int sumOfSquares(List<Integer> values) {
        IntUnaryOperator square = v -> v * v; return values.stream().mapToInt(Integer::intValue).map(square).sum();
    }

    public static String label(int x) {
        return x > 0 && x % 2 == 0 ? "even" : "other";
    }

    static class Helper {
        int twice(int x) {
            return 2 * x;
        }
    }

    public static int runTwice() {
        int[] box = {0}; Runnable r = new Runnable() { public void run() { box[0]++; } }; r.run(); r.run(); return box[0];
    }

    public static int unused(int x) {
        int y = x + 1;
        return y * 2;
    }
}

package com.example.calc;

import java.util.Arrays;

public class Main {
    public static void main(String[] args) {
        int a = Calc.clamp(5, 0, 10) + Calc.clamp(-1, 0, 10);
        int b = Calc.sumOfSquares(Arrays.asList(1, 2, 3));
        String c = Calc.label(4);
        int d = new Calc.Helper().twice(3) + Calc.runTwice() - 2;
        if (a != 5 || b != 14 || !c.equals("even") || d != 6) {
            throw new AssertionError("java checks failed");
        }
        System.out.println("java checks passed");
    }
}

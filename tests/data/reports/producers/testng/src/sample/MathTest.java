package sample;

import org.testng.Assert;
import org.testng.SkipException;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

public class MathTest {
    @Test(groups = {"fast", "math"})
    public void adds() { Assert.assertEquals(1 + 1, 2); }

    @Test
    public void multipliesWrongly() { Assert.assertEquals(2 * 2, 5); }

    @Test
    public void throwsUnexpectedly() { throw new IllegalStateException("boom"); }

    @Test
    public void skipsItself() { throw new SkipException("not on this platform"); }

    // SKIP because the method it depends on failed.
    @Test(dependsOnMethods = "multipliesWrongly")
    public void dependsOnAFailure() { Assert.assertTrue(true); }

    @Test(expectedExceptions = ArithmeticException.class)
    public void expectsAnException() { int zero = 0; System.out.println(1 / zero); }

    @Test(enabled = false)
    public void disabled() { Assert.fail("never runs"); }

    @DataProvider(name = "squares")
    public Object[][] squares() { return new Object[][] {{2, 4}, {3, 9}, {4, 15}}; }

    // Three invocations, the last one fails.
    @Test(dataProvider = "squares")
    public void squares(int n, int square) { Assert.assertEquals(n * n, square); }

    private int attempt = 0;

    // Four invocations, one fails: within successPercentage, TestNG's run does not fail.
    @Test(invocationCount = 4, successPercentage = 50)
    public void mostlyWorks() {
        attempt++;
        Assert.assertTrue(attempt != 2, "the second invocation fails");
    }

    private int tries = 0;

    // Four invocations, three fail: below successPercentage.
    @Test(invocationCount = 4, successPercentage = 50)
    public void mostlyBroken() {
        tries++;
        Assert.assertTrue(tries == 1, "only the first invocation passes");
    }
}

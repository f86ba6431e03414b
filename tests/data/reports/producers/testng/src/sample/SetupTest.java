package sample;

import org.testng.Assert;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

public class SetupTest {
    // A failing configuration method: TestNG skips the tests of this class.
    @BeforeClass
    public void connect() { throw new IllegalStateException("database down"); }

    @Test
    public void queries() { Assert.assertTrue(true); }

    @Test
    public void writes() { Assert.assertTrue(true); }
}

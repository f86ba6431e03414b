using System;
using NUnit.Framework;

namespace Sample
{
    [TestFixture]
    public class MathTests
    {
        [Test]
        public void Adds() { Assert.AreEqual(2, 1 + 1); }

        [Test]
        public void MultipliesWrongly() { Assert.AreEqual(5, 2 * 2); }

        [Test]
        public void ThrowsUnexpectedly() { throw new InvalidOperationException("boom"); }

        [Test, Ignore("not on this platform")]
        public void IsIgnored() { Assert.Fail("never runs"); }

        [Test]
        public void IsInconclusive() { Assert.Inconclusive("no data to decide"); }

        [Test, Explicit("run by hand")]
        public void IsExplicit() { Assert.Fail("never runs"); }

        // Parameterised: three cases, the last fails.
        [TestCase(2, 4)]
        [TestCase(3, 9)]
        [TestCase(4, 15)]
        public void Squares(int n, int square) { Assert.AreEqual(square, n * n); }

        // Not runnable: a test method must not take arguments without a source.
        [Test]
        public void NeedsArguments(int n) { Assert.AreEqual(n, n); }

        [Test, Category("slow"), Category("db")]
        public void CategorisedPasses() { Assert.IsTrue(true); }

        [Test, ExpectedException(typeof(DivideByZeroException))]
        public void ExpectsAnException() { int zero = 0; Console.WriteLine(1 / zero); }
    }

    [TestFixture]
    public class SetupTests
    {
        // A failing fixture setup: NUnit 2 reports each of its tests as failed.
        [TestFixtureSetUp]
        public void Connect() { throw new InvalidOperationException("database down"); }

        [Test]
        public void Queries() { Assert.IsTrue(true); }

        [Test]
        public void Writes() { Assert.IsTrue(true); }
    }
}

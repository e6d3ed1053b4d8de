using Shrink.Kernels;
using Xunit;

namespace Shrink.Tests.Kernels;

[CollectionDefinition("KernelThreads", DisableParallelization = true)]
public class KernelThreadsCollection;

[Collection("KernelThreads")]
public class ParallelTests
{
    private struct CountBody(int[] hits) : IParallelBody
    {
        public readonly void Invoke(int index) => Interlocked.Increment(ref hits[index]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void EveryIndex_VisitedExactlyOnce(int threads)
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = threads;
            foreach (int count in new[] { 0, 1, 2, 3, 17, 1000 })
            {
                for (int rep = 0; rep < 20; rep++)
                {
                    var hits = new int[count];
                    KernelParallel.For(count, i => Interlocked.Increment(ref hits[i]));
                    Assert.All(hits, h => Assert.Equal(1, h));
                    var hits2 = new int[count];
                    var body = new CountBody(hits2);
                    KernelParallel.For(count, ref body);
                    Assert.All(hits2, h => Assert.Equal(1, h));
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void OneThread_RunsInline_InOrder()
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            var order = new List<int>();
            int caller = Environment.CurrentManagedThreadId;
            KernelParallel.For(50, i => { Assert.Equal(caller, Environment.CurrentManagedThreadId); order.Add(i); });
            Assert.Equal(Enumerable.Range(0, 50), order);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void Exceptions_Propagate_AndPoolStaysUsable()
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 4;
            var ex = Assert.Throws<InvalidOperationException>(() =>
                KernelParallel.For(200, i => { if (i == 37) throw new InvalidOperationException("boom"); Thread.SpinWait(100); }));
            Assert.Equal("boom", ex.Message);
            int sum = 0;
            KernelParallel.For(100, i => Interlocked.Add(ref sum, i));
            Assert.Equal(4950, sum);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void NestedCalls_DoNotDeadlock()
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 4;
            var hits = new int[8 * 100];
            KernelParallel.For(8, i => KernelParallel.For(100, j => Interlocked.Increment(ref hits[i * 100 + j])));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public async Task ConcurrentCallers_AllComplete()
    {
        var totals = new long[4];
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int rep = 0; rep < 50; rep++) KernelParallel.For(64, i => Interlocked.Add(ref totals[t], i));
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(totals, s => Assert.Equal(50L * 2016, s));
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Shrink.Kernels;

/// <summary>A loop body for <see cref="KernelParallel.For{TBody}(int, ref TBody)"/>: a struct, so no closure is allocated.</summary>
public interface IParallelBody
{
    /// <summary>Runs iteration <paramref name="index"/>. Called concurrently from several threads.</summary>
    void Invoke(int index);
}

/// <summary>
/// Fork-join parallel loop for kernels (GEMM, conv, pooling): a persistent pool of worker threads that spin
/// briefly and then block, plus the calling thread, which always takes part. Indices are handed out one at a
/// time from a shared counter, so callers should pass coarse chunks (one index ≈ tens of microseconds of work).
/// No allocation per call, no thread creation after warm-up. Nested calls (from inside a body) and calls made
/// while another thread owns the pool run inline on the calling thread, so they can never deadlock.
/// With <see cref="MaxThreads"/> = 1 every loop runs inline, in index order.
/// </summary>
public static unsafe class KernelParallel
{
    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>Upper bound on the threads (caller included) one loop uses. 1 ⇒ inline and sequential.</summary>
    public static int MaxThreads
    {
        get => Volatile.Read(ref s_maxThreads);
        set => Volatile.Write(ref s_maxThreads, Math.Clamp(value, 1, 256));
    }

    /// <summary>Runs <paramref name="body"/>(i) for i in [0, count), each exactly once, possibly concurrently.
    /// The first exception thrown by a body is rethrown here after all threads have stopped.</summary>
    public static void For(int count, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var wrapper = new ActionBody(body);
        For(count, ref wrapper);
    }

    /// <summary>Struct-generic variant of <see cref="For(int, Action{int})"/>: no allocation. The same
    /// <paramref name="body"/> instance is shared by all threads (it is passed by reference).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void For<TBody>(int count, ref TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 0) return;
        int threads = Math.Min(MaxThreads, count);
        if (threads <= 1 || t_inside || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) body.Invoke(i);
            return;
        }
        try
        {
            EnsureWorkers(threads - 1);
            // The caller blocks until every joined worker has left, so a pointer to its stack copy is safe.
            TBody local = body;
            s_fn = &Run<TBody>;
            s_state = Unsafe.AsPointer(ref local);
            s_count = count;
            s_next = 0;
            s_workerLimit = threads - 1;
            s_exception = null;
            Volatile.Write(ref s_active, 0); // open the job for joiners
            lock (s_lock)
            {
                s_generation++;
                if (s_sleepers > 0) Monitor.PulseAll(s_lock);
            }

            t_inside = true;
            try { Work(); }
            finally { t_inside = false; }

            // Close the job (late wakers skip it) and wait for those that joined.
            Interlocked.Add(ref s_active, int.MinValue);
            var spin = new SpinWait();
            while ((Volatile.Read(ref s_active) & int.MaxValue) != 0) spin.SpinOnce(sleep1Threshold: -1);
            body = local;
            s_fn = null;
            s_state = null;
            var ex = s_exception;
            s_exception = null;
            if (ex != null) ExceptionDispatchInfo.Capture(ex).Throw();
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static void Run<TBody>(void* state, int index) where TBody : struct, IParallelBody =>
        Unsafe.AsRef<TBody>(state).Invoke(index);

    private readonly struct ActionBody(Action<int> action) : IParallelBody
    {
        public void Invoke(int index) => action(index);
    }

    // ---- shared job state (valid while s_busy = 1) ----
    private static readonly object s_lock = new();
    private static int s_busy;
    private static delegate*<void*, int, void> s_fn;
    private static void* s_state;
    private static int s_count;
    private static int s_next;
    private static int s_workerLimit;
    private static int s_active = int.MinValue; // bit 31 = closed; low bits = workers currently in the job
    private static Exception? s_exception;
    private static long s_generation;
    private static int s_sleepers;
    private static Thread[] s_workers = [];

    [ThreadStatic] private static bool t_inside;

    /// <summary>How long an idle worker polls for new work before blocking: back-to-back kernel calls (a training
    /// step) find it awake (~0.3 µs fork-join instead of a futex wake-up), yet an idle process burns no CPU.</summary>
    private static readonly long s_spinTicks = System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 µs

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Work()
    {
        int count = s_count;
        var fn = s_fn;
        var state = s_state;
        while (true)
        {
            int i = Interlocked.Increment(ref s_next) - 1;
            if (i >= count) return;
            try
            {
                fn(state, i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref s_exception, e, null);
                Volatile.Write(ref s_next, count); // stop handing out work
                return;
            }
        }
    }

    private static void EnsureWorkers(int needed)
    {
        if (s_workers.Length >= needed) return;
        var grown = new Thread[needed];
        Array.Copy(s_workers, grown, s_workers.Length);
        for (int w = s_workers.Length; w < needed; w++)
        {
            int id = w;
            var t = new Thread(() => WorkerLoop(id)) { IsBackground = true, Name = $"Shrink kernel worker {id}" };
            grown[w] = t;
            t.Start();
        }
        s_workers = grown;
    }

    private static void WorkerLoop(int id)
    {
        t_inside = true; // nested loops on a worker run inline
        long seen = 0;
        while (true)
        {
            long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + s_spinTicks;
            long gen;
            while ((gen = Volatile.Read(ref s_generation)) == seen)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() < deadline) { Thread.SpinWait(8); continue; }
                lock (s_lock)
                {
                    s_sleepers++;
                    while ((gen = Volatile.Read(ref s_generation)) == seen) Monitor.Wait(s_lock);
                    s_sleepers--;
                }
                break;
            }
            seen = gen;
            if (id >= Volatile.Read(ref s_workerLimit)) continue;
            // Join the open job, if any.
            while (true)
            {
                int v = Volatile.Read(ref s_active);
                if (v < 0) goto Skip;
                if (Interlocked.CompareExchange(ref s_active, v + 1, v) == v) break;
            }
            Work();
            Interlocked.Decrement(ref s_active);
        Skip:;
        }
    }
}

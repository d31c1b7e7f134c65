using System.Runtime.CompilerServices;

namespace Observability.AspNetCore.Tests.Support;

/// <summary>
/// Test classes run in parallel in one process, and several of them block thread-pool threads on purpose (health checks
/// that ignore cancellation or block their thread). With the default minimum (one thread per core, two here) the pool
/// then injects threads about once a second, and every timer, timeout and continuation in the other tests waits for
/// that: a 200 ms health timeout answered after 1 s. A larger minimum keeps the tests measuring the library, not the
/// pool's injection rate.
/// </summary>
internal static class TestThreadPool
{
#pragma warning disable CA2255 // A module initializer in a test assembly is the point: it runs before any test.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RaiseMinimum()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
    }
}

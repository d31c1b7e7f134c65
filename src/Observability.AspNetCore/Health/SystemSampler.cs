using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Health;

/// <summary>The <c>system</c> object of <c>/health/detailed</c>.</summary>
internal sealed record SystemSnapshot(
    double CpuPercent,
    double ProcessMemoryMb,
    double GcHeapMb,
    double? MemoryLimitMb,
    int ThreadCount,
    long ThreadPoolQueueLength);

/// <summary>
/// Samples the process's CPU time once a second, so <c>cpuPercent</c> is the process's share of the CPUs it may use over
/// the last second (100 = every CPU .NET sees, which honours a container's CPU quota), whenever anyone asks.
/// </summary>
/// <remarks>
/// Not Microsoft.Extensions.Diagnostics.ResourceMonitoring: on Linux it reports the cgroup's CPU and memory, i.e. every
/// process in the container or slice (measured on a dev machine: 100% CPU and 640 MB while the process itself burned
/// one of two CPUs with a far smaller working set), its
/// <c>IResourceMonitor</c> is obsolete (EXTOBS0001), and 10.11.0 restores with NU1603, which fails a warnings-as-errors
/// build. The memory limit is read from the cgroup files the same way it would.
/// </remarks>
internal sealed class SystemSampler(TimeProvider time, IOptions<ObservabilityOptions> options, Heartbeat heartbeat) : IHostedService, IDisposable
{
    private const double Megabyte = 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly double? _memoryLimitMb = CgroupLimits.ReadMemoryLimitBytes() is { } limit ? Math.Round(limit / Megabyte, 1) : null;
    private IDisposable? _ticking;
    private long _lastTimestamp = time.GetTimestamp();
    private TimeSpan _lastCpu = Environment.CpuUsage.TotalTime;
    private double _cpuPercent = -1;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Health.Enabled)
        {
            _ticking ??= heartbeat.Register("CPU sampler", Sample);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => Interlocked.Exchange(ref _ticking, null)?.Dispose();

    public SystemSnapshot Current()
    {
        double cpu;
        lock (_gate)
        {
            // Before the first tick, the average since start.
            cpu = _cpuPercent >= 0 ? _cpuPercent : Percent(_lastCpu, _lastTimestamp);
        }

        return new SystemSnapshot(
            Math.Round(cpu, 1),
            Math.Round(Environment.WorkingSet / Megabyte, 1),
            Math.Round(GC.GetTotalMemory(forceFullCollection: false) / Megabyte, 1),
            _memoryLimitMb,
            ThreadCount(),
            ThreadPool.PendingWorkItemCount);
    }

    internal void Sample()
    {
        lock (_gate)
        {
            var cpu = Environment.CpuUsage.TotalTime;
            var now = time.GetTimestamp();
            _cpuPercent = Percent(_lastCpu, _lastTimestamp, cpu, now);
            _lastCpu = cpu;
            _lastTimestamp = now;
        }
    }

    private double Percent(TimeSpan fromCpu, long fromTimestamp) => Percent(fromCpu, fromTimestamp, Environment.CpuUsage.TotalTime, time.GetTimestamp());

    private double Percent(TimeSpan fromCpu, long fromTimestamp, TimeSpan toCpu, long toTimestamp)
    {
        var wall = time.GetElapsedTime(fromTimestamp, toTimestamp).TotalMilliseconds * Environment.ProcessorCount;
        return wall <= 0 ? 0 : Math.Clamp((toCpu - fromCpu).TotalMilliseconds / wall * 100, 0, 100);
    }

    private static int ThreadCount()
    {
        // One small file on Linux; Process.Threads would read a file per thread.
        if (OperatingSystem.IsLinux())
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/status"))
                {
                    if (line.StartsWith("Threads:", StringComparison.Ordinal) && int.TryParse(line.AsSpan(8).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count))
                    {
                        return count;
                    }
                }
            }
            catch (IOException)
            {
                // Fall through.
            }
        }

        using var process = Process.GetCurrentProcess();
        return process.Threads.Count;
    }
}

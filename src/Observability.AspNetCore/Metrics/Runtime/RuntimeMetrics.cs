using System.Diagnostics;
using Observability.AspNetCore.Core;
using Prometheus;
using Serilog.Debugging;

namespace Observability.AspNetCore.Metrics.Runtime;

/// <summary>
/// Process and .NET runtime metrics under stable names that pass <c>promtool check metrics</c> (prometheus-net's own
/// EventCounter and meter adapters produce names it rejects, so the library turns them off and exports these instead).
/// The process names follow the Prometheus client conventions (<c>process_cpu_seconds_total</c>, ...), so the usual
/// dashboards work unchanged.
/// </summary>
internal static class RuntimeMetrics
{
    /// <summary>Creates the metrics in <paramref name="registry"/> under <paramref name="prefix"/> (empty, or ending in <c>_</c>).</summary>
    public static void Register(CollectorRegistry registry, string prefix, string service, string version, string environment) =>
        Register(new MetricFamilyFactory(registry, prefix), service, version, environment);

    /// <summary>
    /// Creates the metrics through <paramref name="families"/> (the host's registry, with the prefix) at the first scrape
    /// and refreshes them in one before-collect callback: computed per scrape, nothing on a timer, nothing when nobody
    /// scrapes.
    /// </summary>
    /// <param name="families">The host's family factory.</param>
    /// <param name="service">The <c>service</c> label of <c>app_info</c>.</param>
    /// <param name="version">The <c>version</c> label of <c>app_info</c>.</param>
    /// <param name="environment">The <c>environment</c> label of <c>app_info</c>.</param>
    public static void Register(MetricFamilyFactory families, string service, string version, string environment)
    {
        ArgumentNullException.ThrowIfNull(families);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(environment);

        var registeredAt = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
        families.CreateAtFirstScrape(f => new RuntimeCollector(f, service, version, environment, registeredAt), static c => c.Update());
    }
}

/// <summary>The metrics <see cref="RuntimeMetrics"/> registers and the per-scrape refresh.</summary>
internal sealed class RuntimeCollector
{
    private const string ProcStat = "/proc/self/stat";
    private const string ProcFd = "/proc/self/fd";

    private readonly Counter _cpuSeconds;
    private readonly Gauge _residentMemory;
    private readonly Gauge? _openFds;
    private readonly Gauge _threads;
    private readonly Counter.Child[] _gcCollections;
    private readonly Gauge _gcHeapSize;
    private readonly Counter _gcAllocated;
    private readonly Counter _gcPause;
    private readonly Gauge _threadPoolThreads;
    private readonly Gauge _threadPoolQueue;
    private readonly Counter _threadPoolCompleted;
    private readonly Counter _lockContentions;
    private readonly bool _procStatReadable;
    private int _failureReported;

    public RuntimeCollector(MetricFamilyFactory families, string service, string version, string environment, double registeredAt)
    {
        _cpuSeconds = families.CreateCounter(MetricFamilies.ProcessCpuSeconds, "Total user and system CPU time spent by the process, in seconds.");
        _residentMemory = families.CreateGauge(MetricFamilies.ProcessResidentMemory, "Resident memory (working set) of the process, in bytes.");
        var startTime = families.CreateGauge(MetricFamilies.ProcessStartTime, "Start time of the process since the Unix epoch, in seconds.");
        _threads = families.CreateGauge(MetricFamilies.ProcessThreads, "Operating-system threads in the process.");
        var cpuLimit = families.CreateGauge(MetricFamilies.ProcessCpuLimit, "CPU limit of the process's cgroup in cores (quota / period); 0 when there is none.");
        var memoryLimit = families.CreateGauge(MetricFamilies.ProcessMemoryLimit, "Memory limit of the process's cgroup, in bytes; 0 when there is none.");

        // /proc is Linux-only; elsewhere the metric is left out rather than exported as a misleading 0.
        if (OperatingSystem.IsLinux() && Directory.Exists(ProcFd))
        {
            _openFds = families.CreateGauge(MetricFamilies.ProcessOpenFds, "Open file descriptors of the process.");
        }

        _procStatReadable = OperatingSystem.IsLinux() && File.Exists(ProcStat);

        var collections = families.CreateCounter(MetricFamilies.GcCollections, "Garbage collections since the process started, by generation (a collection of a generation also counts for the younger ones).", "generation");
        _gcCollections = [collections.WithLabels("0"), collections.WithLabels("1"), collections.WithLabels("2")];
        _gcHeapSize = families.CreateGauge(MetricFamilies.GcHeapSize, "Bytes currently thought to be allocated on the managed heap.");
        _gcAllocated = families.CreateCounter(MetricFamilies.GcAllocated, "Bytes allocated on the managed heap since the process started.");
        _gcPause = families.CreateCounter(MetricFamilies.GcPause, "Time the garbage collector paused the process since it started, in seconds.");

        _threadPoolThreads = families.CreateGauge(MetricFamilies.ThreadPoolThreads, "Thread-pool threads.");
        _threadPoolQueue = families.CreateGauge(MetricFamilies.ThreadPoolQueueLength, "Work items queued to the thread pool and not yet started.");
        _threadPoolCompleted = families.CreateCounter(MetricFamilies.ThreadPoolCompletedItems, "Work items the thread pool has completed since the process started.");
        _lockContentions = families.CreateCounter(MetricFamilies.LockContentions, "Times a thread waited for a contended Monitor lock since the process started.");

        var info = families.CreateGauge(MetricFamilies.AppInfo, "The application: service name, version and environment; always 1.", "service", "version", "environment");
        info.WithLabels(service, version, environment).Set(1);

        // Constant for the life of the process: set once, not per scrape. The limits are always present, 0 meaning none,
        // so a rule can divide by them behind a "> 0" guard instead of depending on a series that may be absent.
        startTime.Set(ProcessStartUnixSeconds(registeredAt));
        cpuLimit.Set(CgroupLimits.ReadCpuLimitCores() ?? 0);
        memoryLimit.Set(CgroupLimits.ReadMemoryLimitBytes() ?? 0);
    }

    /// <summary>Refreshes every value; never throws: a failure is reported once on stderr, where prometheus-net would only trace it.</summary>
    public void Update()
    {
        try
        {
            // Environment.CpuUsage is one getrusage/GetProcessTimes call; Process.TotalProcessorTime allocates a Process
            // and parses /proc/self/stat.
            _cpuSeconds.IncTo(Environment.CpuUsage.TotalTime.TotalSeconds);
            _residentMemory.Set(Environment.WorkingSet);

            for (var generation = 0; generation < _gcCollections.Length; generation++)
            {
                _gcCollections[generation].IncTo(GC.CollectionCount(generation));
            }

            _gcHeapSize.Set(GC.GetTotalMemory(forceFullCollection: false));
            _gcAllocated.IncTo(GC.GetTotalAllocatedBytes(precise: false));
            _gcPause.IncTo(GC.GetTotalPauseDuration().TotalSeconds);

            _threadPoolThreads.Set(ThreadPool.ThreadCount);
            _threadPoolQueue.Set(ThreadPool.PendingWorkItemCount);
            _threadPoolCompleted.IncTo(ThreadPool.CompletedWorkItemCount);
            _lockContentions.IncTo(Monitor.LockContentionCount);

            _threads.Set(ThreadCount());
            if (_openFds is not null)
            {
                _openFds.Set(CountOpenFds());
            }
        }
        catch (Exception ex)
        {
            // Left at their last values; the rest of the scrape is still served.
            if (Interlocked.Exchange(ref _failureReported, 1) == 0)
            {
                SelfLog.WriteLine("Observability: runtime metrics could not be refreshed: {0}", ex);
            }
        }
    }

    private static double ProcessStartUnixSeconds(double registeredAt)
    {
        try
        {
            using var process = Process.GetCurrentProcess();
            return (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            // Sandboxes that hide the process start: the registration time is the closest known bound.
            return registeredAt;
        }
    }

    private static int CountOpenFds()
    {
        // The enumeration holds one descriptor of its own while counting, as in the Prometheus Go and Python clients.
        var count = 0;
        foreach (var unused in Directory.EnumerateFileSystemEntries(ProcFd))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// The process's OS thread count. On Linux it is field 20 of <c>/proc/self/stat</c>: one small read into a stack
    /// buffer. <c>Process.Threads</c> would build a ProcessThread (and read a stat file) per thread on every scrape, and
    /// <c>ThreadPool.ThreadCount</c> counts only the pool. Other systems have no cheap source, so they pay for
    /// <c>Process.Threads</c>, once per scrape.
    /// </summary>
    private long ThreadCount()
    {
        if (_procStatReadable && TryReadProcStatThreads(out var threads))
        {
            return threads;
        }

        using var process = Process.GetCurrentProcess();
        return process.Threads.Count;
    }

    private static bool TryReadProcStatThreads(out long threads)
    {
        threads = 0;
        Span<byte> buffer = stackalloc byte[1024];
        int length;
        using (var handle = File.OpenHandle(ProcStat))
        {
            length = RandomAccess.Read(handle, buffer, 0);
        }

        // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so fields are counted from the last ')'.
        var stat = buffer[..length];
        var close = stat.LastIndexOf((byte)')');
        if (close < 0 || close + 2 > stat.Length)
        {
            return false;
        }

        var rest = stat[(close + 2)..];
        for (var field = 3; field < 20; field++)
        {
            var space = rest.IndexOf((byte)' ');
            if (space < 0)
            {
                return false;
            }

            rest = rest[(space + 1)..];
        }

        var end = rest.IndexOf((byte)' ');
        return long.TryParse(end < 0 ? rest : rest[..end], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out threads);
    }
}

using System.Diagnostics;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Metrics.Runtime;
using static Observability.AspNetCore.Tests.Metrics.Bridge.ScrapeText;
using static Observability.AspNetCore.Tests.Support.Exposition;

namespace Observability.AspNetCore.Tests.Metrics.Runtime;

public sealed class RuntimeMetricsTests
{
    public static TheoryData<string, string> Metrics()
    {
        var data = new TheoryData<string, string>
        {
            { "process_cpu_seconds_total", "counter" },
            { "process_resident_memory_bytes", "gauge" },
            { "process_start_time_seconds", "gauge" },
            { "process_threads", "gauge" },
            { "process_cpu_limit_cores", "gauge" },
            { "process_memory_limit_bytes", "gauge" },
            { "dotnet_gc_collections_total", "counter" },
            { "dotnet_gc_heap_size_bytes", "gauge" },
            { "dotnet_gc_allocated_bytes_total", "counter" },
            { "dotnet_gc_pause_seconds_total", "counter" },
            { "dotnet_threadpool_threads", "gauge" },
            { "dotnet_threadpool_queue_length", "gauge" },
            { "dotnet_threadpool_completed_items_total", "counter" },
            { "dotnet_lock_contentions_total", "counter" },
            { "app_info", "gauge" },
        };
        if (OperatingSystem.IsLinux())
        {
            data.Add("process_open_fds", "gauge");
        }

        return data;
    }

    private static async Task<string> ScrapeRuntimeAsync(string prefix = "")
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        RuntimeMetrics.Register(registry, prefix, "s", "v", "e");
        return await ScrapeAsync(registry);
    }

    [Theory]
    [MemberData(nameof(Metrics))]
    public async Task Every_runtime_metric_is_exported_with_its_type(string name, string type)
    {
        var text = await ScrapeRuntimeAsync();

        Assert.Contains($"# TYPE {name} {type}", Lines(text));
        Assert.NotEmpty(Parse(text).Named(name));
    }

    [Fact]
    public async Task Concurrent_first_scrapes_both_serve_every_runtime_family_with_values()
    {
        // The families are made by the first scrape: two at once must both wait for them, not serve an empty page.
        var registry = Prometheus.Metrics.NewCustomRegistry();
        RuntimeMetrics.Register(registry, "", "s", "v", "e");
        var scrapes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => ScrapeAsync(registry))));

        foreach (var text in scrapes)
        {
            foreach (var row in Metrics())
            {
                var name = (string)row[0];
                Assert.Contains($"# TYPE {name} {row[1]}", Lines(text));
                Assert.NotEmpty(Parse(text).Named(name));
            }

            Assert.True(Parse(text).Single("process_start_time_seconds") > 1_600_000_000);
        }
    }

    [Fact]
    public async Task Runtime_values_are_plausible_for_this_process()
    {
        var samples = Parse(await ScrapeRuntimeAsync());

        Assert.True(samples.Single("process_resident_memory_bytes") > 10_000_000);
        Assert.True(samples.Single("process_threads") >= 2);
        Assert.True(samples.Single("dotnet_gc_allocated_bytes_total") > 0);
        Assert.True(samples.Single("dotnet_gc_heap_size_bytes") > 0);
        Assert.True(samples.Single("dotnet_threadpool_threads") >= 1);
        Assert.True(samples.Single("dotnet_gc_collections_total", ("generation", "0")) >= samples.Single("dotnet_gc_collections_total", ("generation", "2")));
        if (OperatingSystem.IsLinux())
        {
            Assert.True(samples.Single("process_open_fds") >= 3);
        }

        using var process = Process.GetCurrentProcess();
        var expectedStart = (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
        Assert.Equal(expectedStart, samples.Single("process_start_time_seconds"), 0.01);
    }

    [Fact]
    public async Task Cgroup_limits_are_published_with_zero_for_no_limit()
    {
        var samples = Parse(await ScrapeRuntimeAsync());

        // Whatever this machine's cgroup says; the parsing and the fake cgroup trees are covered in CgroupLimitsTests.
        Assert.Equal(CgroupLimits.ReadCpuLimitCores() ?? 0, samples.Single("process_cpu_limit_cores"));
        Assert.Equal(CgroupLimits.ReadMemoryLimitBytes() ?? 0, samples.Single("process_memory_limit_bytes"));
        Assert.True(samples.Single("process_cpu_limit_cores") >= 0);
        Assert.True(samples.Single("process_memory_limit_bytes") >= 0);
    }

    [Fact]
    public async Task Process_cpu_seconds_grow_after_burning_cpu()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        RuntimeMetrics.Register(registry, "", "s", "v", "e");

        var before = Parse(await ScrapeAsync(registry)).Single("process_cpu_seconds_total");

        // Spin until the process has really used 200 ms more CPU, as the OS accounts it through another API: on a busy
        // machine 200 ms of wall time can be far less CPU time. Capped so a broken clock cannot hang the run.
        using var process = Process.GetCurrentProcess();
        var cpuAtStart = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var x = 0UL;
        while (wall.Elapsed < TimeSpan.FromSeconds(20))
        {
            for (var i = 0; i < 100_000; i++)
            {
                x = (x * 6364136223846793005UL) + 1442695040888963407UL;
            }

            process.Refresh();
            if (process.TotalProcessorTime - cpuAtStart >= TimeSpan.FromMilliseconds(200))
            {
                break;
            }
        }

        GC.KeepAlive(x);
        var after = Parse(await ScrapeAsync(registry)).Single("process_cpu_seconds_total");

        // 0.15 rather than 0.2: the two APIs round to different clock ticks.
        Assert.True(after - before >= 0.15, $"CPU seconds went from {before} to {after} after the process used 200 ms of CPU ({wall.ElapsedMilliseconds} ms wall).");
    }

    [Fact]
    public async Task App_info_carries_service_version_and_environment()
    {
        var text = await ScrapeRuntimeAsync();

        Assert.Equal(1, Parse(text).Single("app_info", ("service", "s"), ("version", "v"), ("environment", "e")));
    }

    [Fact]
    public async Task With_a_prefix_every_name_starts_with_it()
    {
        var text = await ScrapeRuntimeAsync("shop_");

        var names = Parse(text).Select(s => s.Name).Distinct().ToArray();
        Assert.NotEmpty(names);
        Assert.All(names, n => Assert.StartsWith("shop_", n, StringComparison.Ordinal));
        Assert.All(Lines(text).Where(l => l.StartsWith("# ", StringComparison.Ordinal)), l => Assert.StartsWith("shop_", l.Split(' ')[2], StringComparison.Ordinal));
        Assert.Contains("# TYPE shop_process_cpu_seconds_total counter", Lines(text));
        Assert.Equal(1, Parse(text).Single("shop_app_info", ("service", "s"), ("version", "v"), ("environment", "e")));
    }

    [Fact]
    public void A_prefix_without_a_trailing_underscore_is_rejected()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();

        Assert.Throws<ArgumentException>(() => RuntimeMetrics.Register(registry, "shop", "s", "v", "e"));
    }
}

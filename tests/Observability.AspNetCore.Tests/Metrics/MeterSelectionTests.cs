using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Tests.Metrics.Bridge;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Metrics;

/// <summary>
/// Which meters an app's /metrics exports and under which names: the built-in exclusions that users extend without
/// restating them, and <c>Observability:Metrics:Prefix</c> on every family the library creates or bridges.
/// </summary>
[Collection(ProcessWideMetersCollection.Name)]
public sealed class MeterSelectionTests
{
    private static Task<TestApp> StartAsync(IDictionary<string, string?>? configuration = null) => TestApp.StartAsync(
        app => app.MapGet("/api/items/{id:int}", (int id) => new { id }),
        configuration);

    [Fact]
    public async Task Internal_diagnostics_meters_are_excluded_by_default()
    {
        using var meter = new Meter("Private.InternalDiagnostics.Obs.Tests." + Guid.NewGuid().ToString("N"));
        await using var app = await StartAsync();
        meter.CreateCounter<long>("obs_internal_probe").Add(1);

        var text = await app.Client.GetStringAsync("/metrics");

        Assert.DoesNotContain("obs_internal_probe", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Adding_an_exclude_entry_keeps_the_built_in_exclusions()
    {
        var noisy = ScrapeText.UniqueMeterName("noisy");
        using var internalMeter = new Meter("Private.InternalDiagnostics.Obs.Tests." + Guid.NewGuid().ToString("N"));
        using var noisyMeter = new Meter(noisy);
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:ExcludeMeters:0"] = noisy });
        internalMeter.CreateCounter<long>("obs_internal_probe").Add(1);
        noisyMeter.CreateCounter<long>("obs_noisy_probe").Add(1);
        await app.Client.GetAsync("/api/items/1");

        var text = await app.Client.GetStringAsync("/metrics");

        Assert.DoesNotContain("obs_noisy_probe", text, StringComparison.Ordinal);
        Assert.DoesNotContain("obs_internal_probe", text, StringComparison.Ordinal);
        Assert.DoesNotContain("http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.DoesNotContain("aspnetcore_routing_match_attempts", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_meter_named_exactly_in_the_allow_list_is_exported_despite_the_built_in_exclusion()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:Meters:0"] = "Microsoft.AspNetCore.Hosting" });
        await app.Client.GetAsync("/api/items/1");

        var text = await app.Client.GetStringAsync("/metrics");

        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prefix_applies_to_every_family_the_library_creates_or_bridges_and_not_to_the_apps_direct_metrics()
    {
        var direct = "app_direct_widgets_" + Guid.NewGuid().ToString("N")[..8] + "_total";
        Prometheus.Metrics.CreateCounter(direct, "An app's own counter on prometheus-net's default registry.").Inc();
        using var meter = new Meter(ScrapeText.UniqueMeterName("prefixed"));
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:Prefix"] = "shop" });
        meter.CreateCounter<long>("bookings").Add(2, new KeyValuePair<string, object?>("kind", "standard"));
        meter.CreateHistogram<double>("checkout.duration", unit: "s").Record(0.2);
        await app.Client.GetAsync("/api/items/1");

        var types = Exposition.Types(await app.Client.GetStringAsync("/metrics"));
        var defaultRegistry = Exposition.Types(await DefaultRegistryTextAsync());

        Assert.Equal("counter", types["shop_bookings_total"]);
        Assert.Equal("histogram", types["shop_checkout_duration_seconds"]);
        Assert.Equal("gauge", types["shop_app_info"]);
        Assert.Equal("counter", types["shop_process_cpu_seconds_total"]);
        Assert.Equal("counter", types[direct]);
        var unprefixed = types.Keys.Where(n => !n.StartsWith("shop_", StringComparison.Ordinal) && !defaultRegistry.ContainsKey(n)).ToArray();
        Assert.True(unprefixed.Length == 0, "Served without the prefix: " + string.Join(", ", unprefixed));
    }

    [Fact]
    public void The_library_s_list_of_its_families_is_the_readme_reference_table()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "metrics.md"));
        var start = readme.IndexOf("<!-- metrics-reference:start -->", StringComparison.Ordinal);
        var end = readme.IndexOf("<!-- metrics-reference:end -->", StringComparison.Ordinal);
        var documented = readme[start..end].Split('\n')
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries))
            .Where(c => c.Length >= 5 && c[1].StartsWith('`'))
            .Select(c => c[1].Trim('`'))
            .ToArray();

        Assert.Equal(documented, Observability.AspNetCore.Core.MetricFamilies.All);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Observability.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Observability.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> DefaultRegistryTextAsync()
    {
        using var stream = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

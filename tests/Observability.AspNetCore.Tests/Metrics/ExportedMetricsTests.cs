using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Tests.Metrics.Bridge;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Metrics;

/// <summary>What the app's /metrics endpoint exports beyond the request metrics, through the real host wiring.</summary>
public sealed class ExportedMetricsTests
{
    private sealed class BookingMetrics
    {
        private readonly Counter<long> _bookings;

        public BookingMetrics(IMeterFactory meters) =>
            _bookings = meters.Create("Shop.Bookings").CreateCounter<long>("bookings", description: "Bookings made");

        public void Booked(string kind) => _bookings.Add(1, new KeyValuePair<string, object?>("kind", kind));
    }

    private static Task<TestApp> StartAsync(IDictionary<string, string?>? configuration = null) => TestApp.StartAsync(
        app =>
        {
            app.MapPost("/book/{kind}", (string kind, BookingMetrics metrics) =>
            {
                metrics.Booked(kind);
                return "booked";
            });
            app.MapGet("/api/items/{id:int}", (int id) => new { id });
            app.MapGet("/boom", string () => throw new InvalidOperationException("x"));
        },
        configuration,
        configureBuilder: b => b.Services.AddSingleton<BookingMetrics>());

    [Fact]
    public async Task Users_counter_from_the_meter_factory_is_exported_as_a_prometheus_counter()
    {
        await using var app = await StartAsync();

        for (var i = 0; i < 3; i++)
        {
            await app.Client.PostAsync("/book/standard", null);
        }

        var text = await app.Client.GetStringAsync("/metrics");
        Assert.Equal("counter", Exposition.Types(text)["bookings_total"]);
        Assert.Equal(3, Exposition.Parse(text).Value("bookings_total", ("kind", "standard")));
    }

    [Fact]
    public async Task Runtime_metrics_and_app_info_are_exported_with_the_service_identity()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:ServiceName"] = "shop-api", ["Observability:ServiceVersion"] = "2.1.0" });

        var text = await app.Client.GetStringAsync("/metrics");
        var types = Exposition.Types(text);

        Assert.Equal("counter", types["process_cpu_seconds_total"]);
        Assert.Equal("gauge", types["process_resident_memory_bytes"]);
        Assert.Equal("gauge", types["process_start_time_seconds"]);
        Assert.Equal("counter", types["dotnet_gc_collections_total"]);
        Assert.Equal("gauge", types["dotnet_threadpool_queue_length"]);
        Assert.Equal(1, Exposition.Parse(text).Value("app_info", ("service", "shop-api"), ("version", "2.1.0"), ("environment", "Production")));
    }

    [Fact]
    public async Task AspNetCore_per_request_meters_are_excluded_by_default()
    {
        await using var app = await StartAsync();
        await app.Client.GetAsync("/api/items/1");

        var text = await app.Client.GetStringAsync("/metrics");

        Assert.DoesNotContain("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Allow_list_exports_only_the_named_meters()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:Meters:0"] = "Other.Meter" });
        await app.Client.PostAsync("/book/standard", null);

        var text = await app.Client.GetStringAsync("/metrics");

        Assert.DoesNotContain("bookings_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Whole_live_exposition_passes_promtool_check_metrics()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:Prefix"] = "shop" });
        await app.Client.PostAsync("/book/standard", null);
        await app.Client.GetAsync("/api/items/1");
        await app.Client.GetAsync("/boom");
        await app.Client.GetAsync("/nowhere");

        var text = await app.Client.GetStringAsync("/metrics");
        var (exitCode, output) = await ScrapeText.PromtoolCheckMetricsAsync(text);

        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}):\n{output}\n{text}");
        Assert.Contains("shop_http_requests_total", text, StringComparison.Ordinal);
        Assert.Contains("shop_process_cpu_seconds_total", text, StringComparison.Ordinal);
    }
}

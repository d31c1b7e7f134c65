using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Metrics;

/// <summary>
/// <c>/metrics</c> as Prometheus 2.x scrapes it: OpenMetrics when asked first (one document for both registries), the
/// classic text otherwise, and the request-duration histogram's exemplars, which only OpenMetrics carries.
/// </summary>
public sealed class OpenMetricsTests
{
    /// <summary>Exactly what Prometheus 2.x sends on every scrape.</summary>
    internal const string PrometheusAccept =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    private const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    private const string ClassicContentType = "text/plain; version=0.0.4; charset=utf-8";
    private const string ItemsRoute = "/api/items/{id:int}";

    // Nothing listens on the discard port: spans are exported (and dropped) in the background, off the request path.
    private static readonly Dictionary<string, string?> TracingOn = new() { ["Observability:Otlp:Endpoint"] = "http://127.0.0.1:9" };

    private static Task<TestApp> StartAsync(IDictionary<string, string?>? configuration = null) =>
        TestApp.StartAsync(app => app.MapGet("/api/items/{id:int}", (int id) => new { id }), configuration);

    private static async Task<(string ContentType, string Body)> ScrapeAsync(TestApp app, string? accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        using var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Content.Headers.ContentType?.ToString() ?? "", await response.Content.ReadAsStringAsync());
    }

    /// <summary>Durations are recorded after the response went out: scrape (bounded) until the condition holds.</summary>
    private static async Task<string> ScrapeOpenMetricsUntilAsync(TestApp app, Func<string, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var (contentType, body) = await ScrapeAsync(app, PrometheusAccept);
            Assert.Equal(OpenMetricsContentType, contentType);
            if (condition(body))
            {
                return body;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Condition not met. Last scrape:\n{body}");
            await Task.Delay(20);
        }
    }

    private static async Task<JsonElement> RequestItemAsync(TestApp app, string? traceparent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/items/1");
        if (traceparent is not null)
        {
            request.Headers.Add("traceparent", traceparent);
        }

        using var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await app.CompletionEventAsync(response.Headers.GetValues("X-Request-ID").Single());
    }

    private static bool HasItemsCount(string body) =>
        body.Contains($"http_request_duration_seconds_count{{method=\"GET\",endpoint=\"{ItemsRoute}\",status=\"200\"}} 1", StringComparison.Ordinal);

    [Fact]
    public async Task Prometheus_s_accept_header_gets_one_openmetrics_document_with_both_registries_and_one_eof()
    {
        var own = "app_own_orders_" + Guid.NewGuid().ToString("N")[..8];
        Prometheus.Metrics.CreateCounter(own + "_total", "An app's own counter on prometheus-net's default registry.").Inc(3);
        await using var app = await StartAsync();
        await RequestItemAsync(app);

        var body = await ScrapeOpenMetricsUntilAsync(app, HasItemsCount);

        Assert.Empty(OpenMetricsDocument.Problems(body));
        Assert.Single(body.Split('\n'), l => l == "# EOF");
        Assert.EndsWith("\n# EOF\n", body, StringComparison.Ordinal);

        // Counters stay counters: OpenMetrics names the family without _total, its samples keep the name they had.
        Assert.Contains("# TYPE http_requests counter", body, StringComparison.Ordinal);
        Assert.Contains($"http_requests_total{{method=\"GET\",endpoint=\"{ItemsRoute}\",status=\"200\"}} 1", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_request_duration_seconds histogram", body, StringComparison.Ordinal);
        Assert.Contains($"# TYPE {own} counter", body, StringComparison.Ordinal);
        Assert.Contains($"\n{own}_total 3", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" unknown\n", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain;version=0.0.4")]
    [InlineData("*/*")]
    [InlineData("text/plain;version=0.0.4,application/openmetrics-text;version=1.0.0;q=0.5")]
    public async Task Other_clients_get_the_classic_text(string? accept)
    {
        await using var app = await StartAsync();

        var (contentType, body) = await ScrapeAsync(app, accept);

        Assert.Equal(ClassicContentType, contentType);
        Assert.DoesNotContain("# EOF", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_requests_total counter", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_tracing_on_a_request_s_trace_is_an_exemplar_on_its_duration_bucket()
    {
        await using var app = await StartAsync(TracingOn);

        var completion = await RequestItemAsync(app);
        var traceId = completion.Str("@tr");
        var spanId = completion.Str("@sp");
        Assert.False(string.IsNullOrEmpty(traceId), $"The completion event has no @tr: {completion}");

        var body = await ScrapeOpenMetricsUntilAsync(app, b => OpenMetricsDocument.Exemplars(b).Any(e => e.Labels.GetValueOrDefault("trace_id") == traceId));
        Assert.Empty(OpenMetricsDocument.Problems(body));
        var (line, labels) = Assert.Single(OpenMetricsDocument.Exemplars(body), e => e.Labels.GetValueOrDefault("trace_id") == traceId);
        Assert.StartsWith($"http_request_duration_seconds_bucket{{method=\"GET\",endpoint=\"{ItemsRoute}\",status=\"200\",le=", line, StringComparison.Ordinal);
        Assert.Equal(spanId, labels["span_id"]);

        // The classic text has no place for exemplars: it stays as it was.
        var (_, classic) = await ScrapeAsync(app, accept: null);
        Assert.DoesNotContain("trace_id", classic, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_tracing_off_no_exemplar_is_attached_even_inside_a_sampled_trace()
    {
        await using var app = await StartAsync();
        var traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

        var completion = await RequestItemAsync(app, $"00-{traceId}-00f067aa0ba902b7-01");

        Assert.Equal(traceId, completion.Str("@tr"));
        var body = await ScrapeOpenMetricsUntilAsync(app, HasItemsCount);
        Assert.Empty(OpenMetricsDocument.Problems(body));
        Assert.Empty(OpenMetricsDocument.Exemplars(body));
        Assert.DoesNotContain("trace_id", body, StringComparison.Ordinal);
    }
}

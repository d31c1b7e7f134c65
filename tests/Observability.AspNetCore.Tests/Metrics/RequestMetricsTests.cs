using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Metrics;

public sealed class RequestMetricsTests
{
    private static Task<TestApp> StartAsync(IDictionary<string, string?>? configuration = null, Action<WebApplication>? afterObservability = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.MapGet("/api/items/{id:int}", (int id) => new { id });
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
                app.MapGet("/hang", async (HttpContext ctx) =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
                    return "unreachable";
                });
                app.MapMethods("/any", ["BREW", "GET"], () => "ok");
                app.MapGet("/internal/ping", () => "pong");
            },
            configuration,
            beforeObservability: a => a.Use((HttpContext ctx, RequestDelegate next) =>
            {
                ctx.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.9");
                return next(ctx);
            }),
            afterObservability: afterObservability);

    private static async Task<(IReadOnlyList<Sample> Samples, string Text)> ScrapeAsync(TestApp app, string path = "/metrics")
    {
        var response = await app.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        return (Exposition.Parse(text), text);
    }

    /// <summary>Metrics are recorded after the response went out; wait until the counter shows what the test expects.</summary>
    private static async Task<IReadOnlyList<Sample>> ScrapeUntilAsync(TestApp app, Func<IReadOnlyList<Sample>, bool> condition)
    {
        var (samples, _) = await Poll.UntilAsync(
            () => ScrapeAsync(app), scrape => condition(scrape.Samples), scrape => $"Condition not met. Last scrape:\n{scrape.Text}");
        return samples;
    }

    [Fact]
    public async Task Requests_are_counted_by_method_route_template_and_status()
    {
        await using var app = await StartAsync();

        for (var i = 0; i < 5; i++)
        {
            await app.Client.GetAsync($"/api/items/{i}");
        }

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 5);
        Assert.Equal(5, samples.Value("http_requests_total", ("method", "GET"), ("endpoint", "/api/items/{id:int}"), ("status", "200")));
        Assert.Equal(5, samples.Value("http_request_duration_seconds_count", ("method", "GET"), ("endpoint", "/api/items/{id:int}"), ("status", "200")));
        Assert.DoesNotContain(samples, s => s.Labels.TryGetValue("endpoint", out var e) && e.StartsWith("/api/items/", StringComparison.Ordinal) && !e.Contains('{', StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metric_families_have_the_documented_types_and_labels()
    {
        await using var app = await StartAsync();
        await app.Client.GetAsync("/api/items/1");
        await app.Client.GetAsync("/boom");
        await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 2);

        var (_, text) = await ScrapeAsync(app);
        var types = Exposition.Types(text);

        Assert.Equal("counter", types["http_requests_total"]);
        Assert.Equal("histogram", types["http_request_duration_seconds"]);
        Assert.Equal("gauge", types["http_requests_in_progress"]);
        Assert.Equal("counter", types["http_request_exceptions_total"]);
        Assert.Equal("counter", types["http_slow_requests_total"]);
        Assert.Equal("counter", types["db_slow_queries_total"]);
        Assert.Equal("histogram", types["db_query_duration_seconds"]);
        var samples = Exposition.Parse(text);
        Assert.All(samples.Where(s => s.Name == "http_requests_total"), s => Assert.Equal(["endpoint", "method", "status"], s.Labels.Keys.Order()));
        Assert.All(samples.Where(s => s.Name == "http_requests_in_progress"), s => Assert.Equal(["method"], s.Labels.Keys));
    }

    [Fact]
    public async Task Default_duration_buckets_span_5ms_to_10s()
    {
        await using var app = await StartAsync();
        await app.Client.GetAsync("/api/items/1");

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        var bounds = samples.Where(s => s.Name == "http_request_duration_seconds_bucket" && s.Labels["endpoint"] == "/api/items/{id:int}").Select(s => s.Labels["le"]).ToList();

        Assert.Equal(["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"], bounds);
    }

    [Fact]
    public async Task Duration_buckets_are_configurable()
    {
        await using var app = await StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Metrics:DurationBuckets:0"] = "0.1",
            ["Observability:Metrics:DurationBuckets:1"] = "1",
        });
        await app.Client.GetAsync("/api/items/1");

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        var bounds = samples.Where(s => s.Name == "http_request_duration_seconds_bucket" && s.Labels["endpoint"] == "/api/items/{id:int}").Select(s => s.Labels["le"]).ToList();

        Assert.Equal(["0.1", "1", "+Inf"], bounds);
    }

    [Fact]
    public async Task Unmatched_request_gets_the_fixed_unmatched_endpoint_label()
    {
        await using var app = await StartAsync();

        await app.Client.GetAsync("/no/such/path/12345");

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        Assert.Equal(1, samples.Value("http_requests_total", ("endpoint", "unmatched"), ("status", "404")));
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.Contains("12345", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Method_not_allowed_is_counted_as_unmatched_not_under_the_rejection_endpoint_name()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/items/1");
        request.Headers.Add("X-Request-ID", "wrong-method-1");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total", ("method", "POST")) >= 1);
        Assert.Equal(1, samples.Single("http_requests_total", ("method", "POST"), ("endpoint", "unmatched"), ("status", "405")));
        Assert.DoesNotContain(samples, s => s.Labels.TryGetValue("endpoint", out var e) && e.Contains("405", StringComparison.Ordinal));
        var completion = await app.CompletionEventAsync("wrong-method-1");
        Assert.Equal(405, completion.GetProperty("StatusCode").GetInt32());
        Assert.False(completion.Has("Route"), "a 405 matched no route, like any unmatched request");
    }

    [Fact]
    public async Task Metrics_endpoint_answers_HEAD_like_GET()
    {
        await using var app = await StartAsync();

        using var get = await app.Client.GetAsync("/metrics");
        using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/metrics"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
    }

    [Fact]
    public async Task Unknown_verb_collapses_to_OTHER()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(new HttpRequestMessage(new HttpMethod("BREW"), "/any"));

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        Assert.Equal(1, samples.Value("http_requests_total", ("method", "OTHER"), ("endpoint", "/any")));
    }

    [Fact]
    public async Task Unhandled_exception_is_counted_once_as_500_and_by_exception_type()
    {
        await using var app = await StartAsync();

        await app.Client.GetAsync("/boom");

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        Assert.Equal(1, samples.Value("http_requests_total"));
        Assert.Equal(1, samples.Value("http_requests_total", ("endpoint", "/boom"), ("status", "500")));
        Assert.Equal(1, samples.Value("http_request_exceptions_total", ("method", "GET"), ("endpoint", "/boom"), ("exception", "InvalidOperationException")));
    }

    [Fact]
    public async Task Request_short_circuited_by_later_middleware_is_counted_once_with_its_status()
    {
        await using var app = await StartAsync(afterObservability: a => a.Use((HttpContext ctx, RequestDelegate next) =>
        {
            if (ctx.Request.Path.StartsWithSegments("/api"))
            {
                ctx.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                return Task.CompletedTask;
            }

            return next(ctx);
        }));

        await app.Client.GetAsync("/api/items/3");

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        Assert.Equal(1, samples.Value("http_requests_total"));
        Assert.Equal(1, samples.Value("http_requests_total", ("endpoint", "/api/items/{id:int}"), ("status", "429")));
    }

    [Fact]
    public async Task Request_aborted_by_the_client_is_counted_once_with_the_status_aspnetcore_reports()
    {
        await using var app = await StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => app.Client.GetAsync("/hang", cts.Token));

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        Assert.Equal(1, samples.Value("http_requests_total"));
        Assert.Equal(1, samples.Value("http_requests_total", ("endpoint", "/hang"), ("status", "200")));
        Assert.Equal(0, samples.Value("http_request_exceptions_total"));
        Assert.Equal(0, samples.Value("http_requests_in_progress"));
    }

    [Fact]
    public async Task In_progress_gauge_counts_running_requests_and_returns_to_zero()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(a => a.MapGet("/wait", async () =>
        {
            started.SetResult();
            await release.Task;
            return "done";
        }));

        var running = app.Client.GetAsync("/wait");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var during = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        release.SetResult();
        await running;
        var after = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);

        Assert.Equal(1, during.Value("http_requests_in_progress", ("method", "GET")));
        Assert.Equal(0, after.Value("http_requests_in_progress", ("method", "GET")));
    }

    [Fact]
    public async Task Scrapes_of_the_metrics_endpoint_are_not_counted()
    {
        await using var app = await StartAsync();
        await app.Client.GetAsync("/api/items/1");

        for (var i = 0; i < 3; i++)
        {
            await ScrapeAsync(app);
        }

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        Assert.Equal(1, samples.Value("http_requests_total"));
        Assert.DoesNotContain(samples, s => s.Labels.TryGetValue("endpoint", out var e) && e.Contains("metrics", StringComparison.Ordinal));
        Assert.Equal(0, samples.Value("http_requests_in_progress"));
    }

    [Fact]
    public async Task Excluded_paths_are_not_counted()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:ExcludePaths:0"] = "/internal/**" });

        await app.Client.GetAsync("/internal/ping");
        await app.Client.GetAsync("/api/items/1");

        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= 1);
        Assert.Equal(1, samples.Value("http_requests_total"));
        Assert.Equal(0, samples.Value("http_requests_total", ("endpoint", "/internal/ping")));
    }

    [Fact]
    public async Task Prefix_is_prepended_to_every_library_metric()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:Prefix"] = "tutorflow" });
        await app.Client.GetAsync("/api/items/1");

        var samples = await ScrapeUntilAsync(app, s => s.Value("tutorflow_http_requests_total") >= 1);
        var (_, text) = await ScrapeAsync(app);

        Assert.Equal(1, samples.Value("tutorflow_http_requests_total", ("endpoint", "/api/items/{id:int}")));
        Assert.Contains("# TYPE tutorflow_http_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nhttp_requests_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_path_is_configurable()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:Path"] = "/internal/prometheus" });

        var (samples, _) = await ScrapeAsync(app, "/internal/prometheus");

        Assert.NotNull(samples);
        Assert.Equal(HttpStatusCode.NotFound, (await app.Client.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Disabled_metrics_serve_no_endpoint()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:Enabled"] = "false" });

        var response = await app.Client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Single(response.Headers.GetValues("X-Request-ID"));
    }

    [Fact]
    public async Task Caller_outside_the_allowed_networks_gets_404()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Metrics:AllowedNetworks:0"] = "10.0.0.0/8" });

        var response = await app.Client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("http_requests_total", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Caller_inside_an_allowed_network_reads_the_metrics()
    {
        await using var app = await StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Metrics:AllowedNetworks:0"] = "10.0.0.0/8",
            ["Observability:Metrics:AllowedNetworks:1"] = "203.0.113.0/24",
        });

        var (_, text) = await ScrapeAsync(app);

        Assert.Contains("# TYPE http_requests_total counter", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apps_own_prometheus_net_metrics_appear_on_the_same_endpoint()
    {
        var name = "app_own_widgets_" + Guid.NewGuid().ToString("N")[..8] + "_total";
        Prometheus.Metrics.CreateCounter(name, "An app's own counter.").Inc(7);
        await using var app = await StartAsync();

        var (samples, _) = await ScrapeAsync(app);

        Assert.Equal(7, samples.Value(name));
    }

    [Fact]
    public async Task Counter_is_exact_under_concurrency()
    {
        await using var app = await StartAsync();
        const int total = 5000;
        using var gate = new SemaphoreSlim(32);
        var tasks = new List<Task>(total);
        for (var i = 0; i < total; i++)
        {
            var id = i;
            await gate.WaitAsync();
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    using var response = await app.Client.GetAsync($"/api/items/{id}");
                    response.EnsureSuccessStatusCode();
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks);
        var samples = await ScrapeUntilAsync(app, s => s.Value("http_requests_total") >= total);

        Assert.Equal(total, samples.Value("http_requests_total", ("endpoint", "/api/items/{id:int}"), ("status", "200")));
        Assert.Equal(total, samples.Value("http_request_duration_seconds_count", ("endpoint", "/api/items/{id:int}")));
    }
}

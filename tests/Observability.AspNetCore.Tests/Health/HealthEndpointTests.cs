using Microsoft.Extensions.DependencyInjection;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Health;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Basic_health_answers_200_with_status_service_version_and_a_UTC_timestamp_and_runs_no_check()
    {
        var dependency = new ControlledCheck { Status = HealthStatus.Unhealthy };
        await using var app = await HealthTestApp.StartAsync(
            c => c.AddCheck("db", dependency, tags: ["ready"]),
            new Dictionary<string, string?> { ["Observability:ServiceName"] = "orders", ["Observability:ServiceVersion"] = "2.3.4" });

        var response = await app.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/json; charset=utf-8", response.ContentType);
        Assert.Equal("no-store", response.CacheControl);
        Assert.Equal(["status", "service", "version", "timestamp"], response.Body.PropertyNames());
        Assert.Equal("Healthy", response.BodyStatus);
        Assert.Equal("orders", response.Body.GetProperty("service").GetString());
        Assert.Equal("2.3.4", response.Body.GetProperty("version").GetString());
        var timestamp = response.Body.GetProperty("timestamp").GetString()!;
        Assert.EndsWith("Z", timestamp, StringComparison.Ordinal);
        var parsed = DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - parsed).TotalMinutes) < 1, timestamp);
        Assert.Equal(0, dependency.Invocations);
    }

    [Fact]
    public async Task Live_runs_only_checks_tagged_live_so_a_dead_dependency_never_fails_it()
    {
        var database = new ControlledCheck { Status = HealthStatus.Unhealthy };
        var deadlock = new ControlledCheck();
        await using var app = await HealthTestApp.StartAsync(c => c
            .AddCheck("database", database, tags: ["ready"])
            .AddCheck("deadlock", deadlock, tags: ["live"]));

        var response = await app.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("no-store", response.CacheControl);
        Assert.Equal(["deadlock"], response.Body.GetProperty("checks").PropertyNames());
        Assert.Equal(0, database.Invocations);
        Assert.Equal(1, deadlock.Invocations);
    }

    [Fact]
    public async Task Live_with_no_live_checks_is_200_with_an_empty_checks_object()
    {
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("database", new ControlledCheck { Status = HealthStatus.Unhealthy }, tags: ["ready"]));

        var response = await app.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("""{"status":"Healthy","checks":{}}""", response.Text);
    }

    [Fact]
    public async Task A_failing_live_check_makes_live_503()
    {
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("deadlock", new ControlledCheck { Status = HealthStatus.Unhealthy }, tags: ["live"]));

        var response = await app.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
        Assert.Equal("Unhealthy", response.BodyStatus);
    }

    [Theory]
    [InlineData(HealthStatus.Healthy, HttpStatusCode.OK, "Healthy")]
    [InlineData(HealthStatus.Degraded, HttpStatusCode.OK, "Degraded")]
    [InlineData(HealthStatus.Unhealthy, HttpStatusCode.ServiceUnavailable, "Unhealthy")]
    public async Task Ready_is_200_when_healthy_or_degraded_and_503_when_unhealthy(HealthStatus status, HttpStatusCode expected, string expectedStatus)
    {
        await using var app = await HealthTestApp.StartAsync(c => c
            .AddCheck("postgres", new ControlledCheck { Status = status }, tags: ["ready"])
            .AddCheck("cache", new ControlledCheck(), tags: ["ready"])
            .AddCheck("untagged", new ControlledCheck { Status = HealthStatus.Unhealthy }));

        var response = await app.GetAsync("/health/ready");

        Assert.Equal(expected, response.Status);
        Assert.Equal(expectedStatus, response.BodyStatus);
        Assert.Equal(["status", "checks"], response.Body.PropertyNames());
        Assert.Equal(["postgres", "cache"], response.Body.GetProperty("checks").PropertyNames());
        Assert.Equal(expectedStatus, response.Check("postgres").GetProperty("status").GetString());
        Assert.Equal(["status", "durationMs"], response.Check("postgres").PropertyNames());
        Assert.Equal(JsonValueKind.Number, response.Check("postgres").GetProperty("durationMs").ValueKind);
    }

    [Fact]
    public async Task Ready_shows_no_error_text_while_detailed_gives_the_reason()
    {
        const string reason = "could not reach db-primary.internal as admin";
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", new ControlledCheck { Throw = new InvalidOperationException(reason) }, tags: ["ready"]));

        var ready = await app.GetAsync("/health/ready");
        var detailed = await app.GetAsync("/health/detailed");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.DoesNotContain("db-primary", ready.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("admin", ready.Text, StringComparison.Ordinal);
        Assert.Equal(reason, detailed.Check("postgres").GetProperty("error").GetString());
    }

    [Fact]
    public async Task Detailed_lists_every_check_with_status_description_duration_error_tags_plus_uptime_and_system()
    {
        await using var app = await HealthTestApp.StartAsync(c => c
            .AddCheck("postgres", new ControlledCheck { Status = HealthStatus.Degraded, Description = "replica lag 12 s" }, tags: ["ready", "db"])
            .AddCheck("self", new ControlledCheck(), tags: ["live"])
            .AddCheck("untagged", new ControlledCheck()));

        var response = await app.GetAsync("/health/detailed");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("no-store", response.CacheControl);
        Assert.Equal(["status", "service", "version", "timestamp", "uptimeSeconds", "checks", "system", "workers"], response.Body.PropertyNames());
        Assert.Equal("Degraded", response.BodyStatus);
        Assert.Equal(["postgres", "self", "untagged"], response.Body.GetProperty("checks").PropertyNames());
        var postgres = response.Check("postgres");
        Assert.Equal(["status", "description", "durationMs", "error", "tags"], postgres.PropertyNames());
        Assert.Equal("Degraded", postgres.GetProperty("status").GetString());
        Assert.Equal("replica lag 12 s", postgres.GetProperty("description").GetString());
        Assert.Equal(JsonValueKind.Null, postgres.GetProperty("error").ValueKind);
        Assert.Equal(["db", "ready"], postgres.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Order());
        Assert.True(response.Body.GetProperty("uptimeSeconds").GetDouble() >= 0);

        var system = response.Body.GetProperty("system");
        Assert.Equal(["cpuPercent", "processMemoryMb", "gcHeapMb", "memoryLimitMb", "threadCount", "threadPoolQueueLength"], system.PropertyNames());
        Assert.InRange(system.GetProperty("cpuPercent").GetDouble(), 0, 100);
        Assert.True(system.GetProperty("processMemoryMb").GetDouble() > 0);
        Assert.True(system.GetProperty("gcHeapMb").GetDouble() > 0);
        Assert.True(system.GetProperty("memoryLimitMb").ValueKind is JsonValueKind.Null or JsonValueKind.Number);
        Assert.True(system.GetProperty("threadCount").GetInt32() > 0);
        Assert.True(system.GetProperty("threadPoolQueueLength").GetInt64() >= 0);
    }

    [Fact]
    public async Task Detailed_is_503_when_a_check_is_unhealthy()
    {
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", new ControlledCheck { Status = HealthStatus.Unhealthy }));

        var response = await app.GetAsync("/health/detailed");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
        Assert.Equal("Unhealthy", response.BodyStatus);
    }

    [Fact]
    public async Task Health_endpoints_are_left_out_of_request_metrics_and_the_information_log()
    {
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("self", new ControlledCheck(), tags: ["live"]));

        foreach (var path in new[] { "/health", "/health/live", "/health/ready", "/health/detailed" })
        {
            Assert.Equal(HttpStatusCode.OK, (await app.GetAsync(path)).Status);
        }

        await app.GetAsync("/api/ping");
        await app.WaitForEventsAsync(e => e.IsCompletion() && e.Str("RequestPath") == "/api/ping");
        var scrape = await app.Client.GetStringAsync("/metrics");

        Assert.Contains("endpoint=\"/api/ping\"", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("endpoint=\"/health", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Events(), e => e.IsCompletion() && (e.Str("RequestPath") ?? "").StartsWith("/health", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HEAD_is_answered_like_GET_so_uptime_probes_that_use_HEAD_see_the_service_up()
    {
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("self", new ControlledCheck(), tags: ["live"]));

        foreach (var path in new[] { "/health", "/health/live", "/health/ready", "/health/detailed" })
        {
            using var get = await app.Client.GetAsync(path);
            using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
            Assert.Equal(get.Headers.CacheControl, head.Headers.CacheControl);
            Assert.True(head.Headers.Contains("X-Request-ID"), path);
        }
    }

    [Fact]
    public async Task Configured_path_moves_all_four_endpoints()
    {
        await using var app = await HealthTestApp.StartAsync(configuration: new Dictionary<string, string?> { ["Observability:Health:Path"] = "/status/" });

        foreach (var path in new[] { "/status", "/status/live", "/status/ready", "/status/detailed" })
        {
            Assert.Equal(HttpStatusCode.OK, (await app.GetAsync(path)).Status);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync("/health")).Status);
    }

    [Fact]
    public async Task Health_disabled_maps_no_endpoint()
    {
        await using var app = await HealthTestApp.StartAsync(configuration: new Dictionary<string, string?> { ["Observability:Health:Enabled"] = "false" });

        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync("/health")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync("/health/ready")).Status);
    }
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Tests.Health;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>
/// Requests to the library's own endpoints are written at <c>Observability:Logging:OwnEndpointsLevel</c> whatever
/// their status: a readiness probe answering 503 during an outage or a drain is the endpoint doing its job, not an error.
/// </summary>
public sealed class OwnEndpointLevelTests
{
    private static Task<TestApp> StartAsync(string ownEndpointsLevel, string minimumLevel = "Information") =>
        HealthTestApp.StartAsync(
            c => c.AddCheck("database", new ControlledCheck { Status = HealthStatus.Unhealthy }, tags: ["ready"]),
            new Dictionary<string, string?>
            {
                ["Observability:Logging:OwnEndpointsLevel"] = ownEndpointsLevel,
                ["Serilog:MinimumLevel:Default"] = minimumLevel,
            },
            map: app =>
            {
                app.MapGet("/own/boom", string () => throw new InvalidOperationException("boom from an own endpoint"))
                    .WithMetadata(ObservabilityEndpointMetadata.Instance);
            });

    [Theory]
    [InlineData("Debug")]
    [InlineData("Information")]
    public async Task Ready_answering_503_is_logged_at_the_own_endpoints_level_not_as_an_error(string level)
    {
        await using var app = await StartAsync(level, minimumLevel: "Debug");

        var response = await app.GetAsync("/health/ready", headers: ("X-Request-ID", "ready-503"));
        var e = await app.CompletionEventAsync("ready-503");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.Status);
        Assert.Equal(503, e.GetProperty("StatusCode").GetInt32());
        Assert.Equal(level, e.Level());
        Assert.False(e.Has("@x"));
    }

    [Fact]
    public async Task Ready_answering_503_writes_no_completion_event_when_own_endpoints_level_is_None()
    {
        await using var app = await StartAsync("None");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.GetAsync("/health/ready", headers: ("X-Request-ID", $"probe-{i}"))).Status);
        }

        // A request after the probes: once its event is written, the probes' events would have been too.
        await app.GetAsync("/api/ping", headers: ("X-Request-ID", "after-probes"));
        await app.CompletionEventAsync("after-probes");

        Assert.DoesNotContain(app.Events(), e => e.IsCompletion() && e.Str("RequestPath") == "/health/ready");
        Assert.DoesNotContain(app.Events(), e => e.Level() == "Error");
    }

    [Theory]
    [InlineData("None")]
    [InlineData("Debug")]
    public async Task Unhandled_exception_in_an_own_endpoint_is_still_an_error(string level)
    {
        await using var app = await StartAsync(level);

        var response = await app.GetAsync("/own/boom", headers: ("X-Request-ID", "own-boom"));
        var e = await app.CompletionEventAsync("own-boom");

        Assert.Equal(HttpStatusCode.InternalServerError, response.Status);
        Assert.Equal("Error", e.Level());
        Assert.Equal(500, e.GetProperty("StatusCode").GetInt32());
        Assert.Contains("boom from an own endpoint", e.Str("@x"), StringComparison.Ordinal);
    }
}

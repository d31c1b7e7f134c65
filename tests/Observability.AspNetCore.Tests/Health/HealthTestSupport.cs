using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Health;

/// <summary>An in-process app with the two lines, the test's health checks, and a caller address the test chooses.</summary>
internal static class HealthTestApp
{
    /// <summary>Test-only header: the caller's address as the server would see it (TestServer has no socket). Default 127.0.0.1.</summary>
    public const string RemoteHeader = "X-Test-Remote-Address";

    public static Task<TestApp> StartAsync(
        Action<IHealthChecksBuilder>? checks = null,
        IDictionary<string, string?>? configuration = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? map = null)
    {
        var settings = new Dictionary<string, string?>
        {
            // Tests call the endpoints themselves; the background publisher would add runs they do not expect.
            ["Observability:Health:PublishIntervalMs"] = "0",
        };
        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return TestApp.StartAsync(
            app =>
            {
                app.MapGet("/api/ping", () => "pong");
                map?.Invoke(app);
            },
            settings,
            builder =>
            {
                checks?.Invoke(builder.Services.AddHealthChecks());
                configureBuilder?.Invoke(builder);
            },
            beforeObservability: a => a.Use((HttpContext ctx, RequestDelegate next) =>
            {
                ctx.Connection.RemoteIpAddress = ctx.Request.Headers.TryGetValue(RemoteHeader, out var remote)
                    ? IPAddress.Parse(remote.ToString())
                    : IPAddress.Loopback;
                ctx.Request.Headers.Remove(RemoteHeader);
                return next(ctx);
            }));
    }

    public static async Task<HealthResponse> GetAsync(this TestApp app, string path, string? remote = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (remote is not null)
        {
            request.Headers.Add(RemoteHeader, remote);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var started = Stopwatch.GetTimestamp();
        using var response = await app.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);
        JsonElement? json = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            using var document = JsonDocument.Parse(text);
            json = document.RootElement.Clone();
        }

        return new HealthResponse(response.StatusCode, text, json, response.Headers.CacheControl?.ToString(), response.Content.Headers.ContentType?.ToString(), elapsed);
    }

    public static string[] PropertyNames(this JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    public static JsonElement Check(this HealthResponse response, string name) => response.Json!.Value.GetProperty("checks").GetProperty(name);
}

internal sealed record HealthResponse(HttpStatusCode Status, string Text, JsonElement? Json, string? CacheControl, string? ContentType, TimeSpan Elapsed)
{
    public JsonElement Body => Json ?? throw new InvalidOperationException($"Not JSON: {Status} {Text}");

    public string? BodyStatus => Body.GetProperty("status").GetString();
}

/// <summary>A health check the test controls: its status, delay, failure, and how often and how concurrently it ran.</summary>
internal sealed class ControlledCheck : IHealthCheck
{
    private int _invocations;
    private int _running;
    private int _maxRunning;

    public HealthStatus Status { get; set; } = HealthStatus.Healthy;

    public string? Description { get; set; }

    public TimeSpan Delay { get; set; }

    public Exception? Throw { get; set; }

    /// <summary>When set, the check waits on this task and ignores its cancellation token (a driver that hangs in a connect).</summary>
    public Task? IgnoreCancellationUntil { get; set; }

    /// <summary>When true, the check blocks its thread (Thread.Sleep) for <see cref="Delay"/> instead of awaiting.</summary>
    public bool BlockThread { get; set; }

    public int Invocations => Volatile.Read(ref _invocations);

    public int MaxConcurrent => Volatile.Read(ref _maxRunning);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _invocations);
        var running = Interlocked.Increment(ref _running);
        int max;
        while (running > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
        {
        }

        try
        {
            if (IgnoreCancellationUntil is { } hang)
            {
                await hang;
            }

            if (BlockThread)
            {
                Thread.Sleep(Delay);
            }
            else if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }

            if (Throw is { } exception)
            {
                throw exception;
            }

            return new HealthCheckResult(Status, Description);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }
}

/// <summary>
/// Tests that bound how long a probe takes, and the test that burns CPU: one after the other, and after the parallel
/// classes, so neither the burn nor a neighbour's load eats the margin of a timing assertion.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HealthTimingCollection
{
    public const string Name = "Health timing";
}

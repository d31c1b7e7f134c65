using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Health;

/// <summary>
/// An app with the two lines on real Kestrel (127.0.0.1, a free port), pointed at real PostgreSQL/Redis processes or
/// at a silent listener. In-process so a test can count its sockets; its logs are kept quiet (the fault tests make
/// checks fail on purpose).
/// </summary>
internal sealed class HealthHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HealthHost(WebApplication app, Uri address)
    {
        _app = app;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<HealthHost> StartAsync(IDictionary<string, string?> configuration, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = TestHost.CreateBuilder(
            typeof(HealthHost).Assembly,
            TestHost.Settings(
                new Dictionary<string, string?>
                {
                    ["Serilog:MinimumLevel:Default"] = "Fatal",
                    ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Fatal",
                },
                configuration),
            urls: TestHost.Loopback);
        builder.AddObservability();
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseObservability();
        app.MapGet("/api/ping", () => "pong");
        await app.StartAsync();
        return new HealthHost(app, new Uri(app.Urls.First()));
    }

    public async Task<Probe> GetAsync(string path)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await Client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);
        JsonElement? json = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            using var document = JsonDocument.Parse(text);
            json = document.RootElement.Clone();
        }

        var headers = string.Join('\n', response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}"));
        return new Probe(path, response.StatusCode, text, headers, json, elapsed);
    }

    public ValueTask DisposeAsync() => TestHost.StopAsync(_app, Client);
}

internal sealed record Probe(string Path, HttpStatusCode Status, string Text, string Headers, JsonElement? Json, TimeSpan Elapsed)
{
    public JsonElement Body => Json ?? throw new InvalidOperationException($"{Path}: not JSON: {(int)Status} {Text}");

    public string? CheckStatus(string name) =>
        Body.GetProperty("checks").TryGetProperty(name, out var check) ? check.GetProperty("status").GetString() : null;

    public string? CheckError(string name) => Body.GetProperty("checks").GetProperty(name).GetProperty("error").GetString();

    public string? CheckDescription(string name) => Body.GetProperty("checks").GetProperty(name).GetProperty("description").GetString();

    public override string ToString() => $"{Path} {(int)Status} in {Elapsed.TotalMilliseconds:0} ms: {Text}";
}

/// <summary>Counts this process's established TCP connections to a port, from <c>/proc/net/tcp*</c>.</summary>
internal static class Sockets
{
    public static int EstablishedTo(int port)
    {
        var suffix = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        var count = 0;
        foreach (var file in new[] { "/proc/self/net/tcp", "/proc/self/net/tcp6" })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

                // fields[2] is the remote address:port, fields[3] the state; 01 = ESTABLISHED.
                if (fields.Length > 3 && fields[2].EndsWith(suffix, StringComparison.Ordinal) && fields[3] == "01")
                {
                    count++;
                }
            }
        }

        return count;
    }
}

/// <summary>
/// The fault tests bound each call (1 s; timeout + 500 ms). On a two-core machine, the other test classes of this
/// process (packing, Prometheus, load generators, app processes) can delay a timer by most of that margin, so these
/// classes run on their own, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HealthFaultsCollection
{
    public const string Name = "Health faults";
}

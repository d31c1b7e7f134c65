using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// An app that configures no database, no Redis and no OTLP endpoint does not load their clients: it is run as its own
/// process (this test host has them all loaded), answers requests and the health endpoints, then lists what it loaded.
/// </summary>
public sealed class PayForWhatYouUseTests
{
    private static readonly string[] OptionalFamilies =
        ["Npgsql", "Microsoft.EntityFrameworkCore", "StackExchange.Redis", "HealthChecks.", "OpenTelemetry"];

    [Fact]
    public async Task App_without_database_redis_or_otlp_serves_requests_without_loading_their_assemblies()
    {
        var loaded = await LoadedAfterRequestsAsync(new Dictionary<string, string?>());

        Assert.Contains("Observability.AspNetCore", loaded);
        Assert.DoesNotContain(loaded, static name => OptionalFamilies.Any(f => name.StartsWith(f, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task App_with_postgres_redis_and_otlp_configured_loads_their_clients()
    {
        var loaded = await LoadedAfterRequestsAsync(new Dictionary<string, string?>
        {
            ["Observability__Health__Postgres__ConnectionString"] = $"Host=127.0.0.1;Port={FreePort.Next().ToString(CultureInfo.InvariantCulture)};Username=app;Password=secret",
            ["Observability__Health__Redis__ConnectionString"] = $"127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
            ["Observability__Otlp__Endpoint"] = $"http://127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
        });

        Assert.Contains("Npgsql", loaded);
        Assert.Contains("HealthChecks.NpgSql", loaded);
        Assert.Contains("StackExchange.Redis", loaded);
        Assert.Contains("OpenTelemetry", loaded);
    }

    private static async Task<string[]> LoadedAfterRequestsAsync(Dictionary<string, string?> environment)
    {
        environment["ConnectionStrings__Postgres"] = null;
        environment["ConnectionStrings__Redis"] = null;
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = null;
        var dll = Path.Combine(AppContext.BaseDirectory, "Observability.AspNetCore.MinimalApp.dll");
        await using var app = await AppProcess.StartAsync(dll, environment, readinessPath: "/ping");

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/ping")).StatusCode);
        using var ready = await app.Client.GetAsync("/health/ready");
        using var metrics = await app.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);

        var loaded = await app.Client.GetFromJsonAsync<string[]>("/loaded-assemblies");
        Assert.NotNull(loaded);
        return loaded;
    }
}

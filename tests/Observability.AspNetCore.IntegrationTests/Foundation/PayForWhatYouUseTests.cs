using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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

    /// <summary>
    /// Loaded by nothing a bare minimal API does, and by nothing the defaults need either: MVC (an application-part
    /// attribute the SDK writes for any referenced package that references MVC makes the host load it), the dependency
    /// model (a package JIT-compiled at every start), System.Data.Common and its type converters (parsing label values).
    /// </summary>
    private static readonly string[] NeverNeeded =
        ["Microsoft.AspNetCore.Mvc.Core", "Prometheus.AspNetCore", "Microsoft.Extensions.DependencyModel", "System.Data.Common", "System.ComponentModel.TypeConverter"];

    [Fact]
    public async Task App_without_database_redis_or_otlp_serves_requests_without_loading_their_assemblies()
    {
        var loaded = await LoadedAfterRequestsAsync(new Dictionary<string, string?>());

        Assert.Contains("Observability.AspNetCore", loaded);
        Assert.DoesNotContain(loaded, static name => OptionalFamilies.Any(f => name.StartsWith(f, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task App_with_the_defaults_loads_no_MVC_OpenSSL_or_other_assembly_it_does_not_use()
    {
        // Its own content root: the test's output folder holds the sample's appsettings.json, whose Serilog section and
        // values would load the configuration readers this test is not about.
        var contentRoot = Directory.CreateTempSubdirectory("pay-for-what-you-use-");
        try
        {
            var environment = new Dictionary<string, string?> { ["ASPNETCORE_CONTENTROOT"] = contentRoot.FullName };
            string[]? loaded = null;
            string? maps = null;
            await RunAfterRequestsAsync(environment, async app =>
            {
                loaded = await app.Client.GetFromJsonAsync<string[]>("/loaded-assemblies");
                maps = await File.ReadAllTextAsync($"/proc/{app.Pid.ToString(CultureInfo.InvariantCulture)}/maps");
            });

            Assert.NotNull(loaded);
            Assert.Empty(loaded.Intersect(NeverNeeded));

            // Nothing here speaks TLS: the request-ID prefix takes its randomness from the OS, as a bare app would.
            Assert.DoesNotContain("libcrypto", maps, StringComparison.Ordinal);
        }
        finally
        {
            contentRoot.Delete(recursive: true);
        }
    }

    /// <summary>
    /// A package copy of an assembly the shared framework carries (System.Diagnostics.DiagnosticSource 11.0.0, required
    /// by OpenTelemetry.Api 1.21.0) wins over the framework's by version and is JIT-compiled at every start, where the
    /// framework's copy is precompiled: Activity, Meter and DiagnosticListener, which the host itself uses, are then
    /// compiled in every app. The app's dependency graph must list none.
    /// </summary>
    [Fact]
    public void App_carries_no_package_copy_of_a_shared_framework_assembly()
    {
        var frameworkFiles = new[] { typeof(object), typeof(Microsoft.AspNetCore.Http.HttpContext) }
            .SelectMany(static t => Directory.EnumerateFiles(Path.GetDirectoryName(t.Assembly.Location)!, "*.dll"))
            .Select(Path.GetFileName)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

        using var graph = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Observability.AspNetCore.MinimalApp.deps.json")));
        var shadowing = graph.RootElement.GetProperty("targets").EnumerateObject()
            .SelectMany(static target => target.Value.EnumerateObject())
            .Where(static library => library.Value.TryGetProperty("runtime", out _))
            .SelectMany(static library => library.Value.GetProperty("runtime").EnumerateObject().Select(asset => $"{library.Name}: {Path.GetFileName(asset.Name)}"))
            .Where(asset => frameworkFiles.Contains(asset[(asset.LastIndexOf(' ') + 1)..]))
            .ToArray();

        Assert.True(frameworkFiles.Count > 100, "the shared framework's folders were not found");
        Assert.True(
            shadowing.Length == 0,
            "These package assets replace an assembly of the shared framework in every app that uses the library: "
            + string.Join(", ", shadowing)
            + ". Find the package that requires them (dotnet nuget why) and pin it to a version that does not, or raise the target framework.");
    }

    private static async Task<string[]> LoadedAfterRequestsAsync(Dictionary<string, string?> environment)
    {
        string[]? loaded = null;
        await RunAfterRequestsAsync(environment, async app => loaded = await app.Client.GetFromJsonAsync<string[]>("/loaded-assemblies"));
        Assert.NotNull(loaded);
        return loaded;
    }

    private static async Task RunAfterRequestsAsync(Dictionary<string, string?> environment, Func<AppProcess, Task> inspect)
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

        await inspect(app);
    }
}

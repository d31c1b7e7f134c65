using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;

namespace Observability.AspNetCore.Tests.Support;

/// <summary>The set-up every in-process test app starts from, on a TestServer or on real Kestrel.</summary>
internal static class TestHost
{
    /// <summary>Kestrel on 127.0.0.1 at a port the OS picks when it binds (no window for another process to take it).</summary>
    public const string Loopback = "http://127.0.0.1:0";

    /// <summary>
    /// A builder in the Production environment (what users deploy) with <paramref name="configuration"/> in memory.
    /// The application is the test assembly, so MVC finds its controllers and the service name is the test's.
    /// </summary>
    /// <param name="application">The test assembly.</param>
    /// <param name="configuration">Settings over the app's own configuration files.</param>
    /// <param name="urls">Where Kestrel listens (e.g. <see cref="Loopback"/>); a TestServer when null.</param>
    /// <param name="environment">The environment name.</param>
    /// <param name="contentRoot">A content root of the test's own; the test's output folder when null.</param>
    public static WebApplicationBuilder CreateBuilder(
        Assembly application,
        IDictionary<string, string?>? configuration = null,
        string? urls = null,
        string environment = "Production",
        string? contentRoot = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = environment,
            ApplicationName = application.GetName().Name,
            ContentRootPath = contentRoot,
        });
        if (urls is null)
        {
            builder.WebHost.UseTestServer();
        }
        else
        {
            builder.WebHost.UseUrls(urls);
        }

        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        return builder;
    }

    /// <summary><paramref name="defaults"/> with <paramref name="overrides"/> written over them.</summary>
    public static Dictionary<string, string?> Settings(IDictionary<string, string?> defaults, IDictionary<string, string?>? overrides)
    {
        var settings = new Dictionary<string, string?>(defaults);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Disposes the client, then stops and disposes the app.</summary>
    public static async ValueTask StopAsync(WebApplication app, HttpClient client)
    {
        client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

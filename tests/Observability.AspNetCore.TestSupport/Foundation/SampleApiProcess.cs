using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// The sample API run as a real child process, the way it is deployed: <c>dotnet Observability.SampleApi.dll</c> in the
/// Production environment, with the appsettings.json the build copied next to it, and a SQLite file of its own in a temp
/// directory (deleted on dispose) so that no two runs share a database.
/// </summary>
public sealed class SampleApiProcess : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private SampleApiProcess(AppProcess app, TempDirectory directory)
    {
        App = app;
        _directory = directory;
    }

    /// <summary>The running process: its client, its captured stdout/stderr, SIGTERM.</summary>
    public AppProcess App { get; }

    /// <summary>An HttpClient pointed at the app.</summary>
    public HttpClient Client => App.Client;

    /// <summary>Starts the sample and returns once it answers HTTP.</summary>
    /// <param name="environment">Extra variables (configuration as a deployment sets it); they win over the defaults here.</param>
    /// <param name="stdoutPath">Where the app's stdout goes instead of the captured pipe (see <see cref="AppProcess.StartAsync"/>).</param>
    public static async Task<SampleApiProcess> StartAsync(IReadOnlyDictionary<string, string?>? environment = null, string? stdoutPath = null)
    {
        var directory = TempDirectory.Create("obs-sample");
        try
        {
            var app = await AppProcess.StartAsync(AppProcess.SampleApiDllPath(), Environment(directory, environment), stdoutPath: stdoutPath);
            return new SampleApiProcess(app, directory);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The environment of a sample run: Production, SQLite in <paramref name="directory"/>, and nothing inherited from
    /// the developer's shell that could point it elsewhere; <paramref name="overrides"/> last.
    /// </summary>
    public static Dictionary<string, string?> Environment(TempDirectory directory, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var variables = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = null,
            ["ASPNETCORE_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
            ["ASPNETCORE_HTTPS_PORTS"] = null,
            ["DOTNET_NOLOGO"] = "1",
            ["ConnectionStrings__Sqlite"] = $"Data Source={directory.Combine("sample.db")}",
            // A developer who exported these to try the sample by hand must not turn every test into a PostgreSQL test.
            ["ConnectionStrings__Postgres"] = null,
            ["ConnectionStrings__Redis"] = null,
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            variables[key] = value;
        }

        return variables;
    }

    /// <summary>Kills the app if it still runs and deletes its temp directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        _directory.Dispose();
    }
}

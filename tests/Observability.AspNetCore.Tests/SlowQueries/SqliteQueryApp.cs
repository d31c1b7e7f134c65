using System.Data.Common;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.SlowQueries;

/// <summary>
/// An in-process app with the two lines and an EF Core context on a real SQLite file, registered the normal way
/// (<c>AddDbContext</c>, no interceptor of ours) either after or before <c>AddObservability()</c>. Its stdout log stream
/// is captured, so tests read the JSON lines a log shipper would read.
/// </summary>
internal sealed class SqliteQueryApp : IAsyncDisposable
{
    private readonly CapturedLog _output;
    private readonly string _directory;

    private SqliteQueryApp(WebApplication app, CapturedLog output, string directory)
    {
        App = app;
        _output = output;
        _directory = directory;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public string Output => _output.ToString();

    public static async Task<SqliteQueryApp> StartAsync(
        Action<WebApplication> map,
        IDictionary<string, string?>? configuration = null,
        bool contextBeforeObservability = false)
    {
        var directory = Directory.CreateTempSubdirectory("obs-slowq-").FullName;
        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(directory, "test.db"), Pooling = false }.ToString();
        var builder = TestApp.CreateBuilder(configuration);
        var output = new CapturedLog();
        builder.Services.AddSingleton(output.AsOutput());

        // The app's own registration, with its own interceptor (the sleep function); nothing of the library's.
        void AddContext() => builder.Services.AddDbContext<RowsContext>(o => o.UseSqlite(connectionString).AddInterceptors(SqliteFunctions.Instance));

        if (contextBeforeObservability)
        {
            AddContext();
            builder.AddObservability();
        }
        else
        {
            builder.AddObservability();
            AddContext();
        }

        var app = builder.Build();
        app.UseObservability();
        map(app);

        // Schema and rows, before the host starts: these commands belong to no request.
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<RowsContext>();
            await db.Database.EnsureCreatedAsync();
            db.Rows.AddRange(Enumerable.Range(1, 30).Select(i => new Row { Id = i, Name = $"row {i}" }));
            await db.SaveChangesAsync();
        }

        await app.StartAsync();
        return new SqliteQueryApp(app, output, directory);
    }

    /// <summary>Every whole stdout line parsed as JSON.</summary>
    public IReadOnlyList<JsonElement> Events() => _output.Events();

    /// <summary>Sends GET and returns the response's request ID once the request's completion event is written.</summary>
    public async Task<string> GetAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{Output}");
        var id = response.Headers.GetValues("X-Request-ID").Single();
        await CompletionEventAsync(id);
        return id;
    }

    public async Task<JsonElement> CompletionEventAsync(string requestId)
    {
        var matches = await Poll.UntilAsync(
            () => Events().Where(e => e.IsCompletion() && e.Str("RequestId") == requestId).ToList(),
            found => found.Count > 0,
            found => $"No completion event for {requestId} within 10 s.\n{Output}");
        return Assert.Single(matches);
    }

    public async Task<IReadOnlyList<Sample>> ScrapeAsync() => Exposition.Parse(await Client.GetStringAsync("/metrics"));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is not worth failing a test over.
        }
    }
}

internal sealed class RowsContext(DbContextOptions<RowsContext> options) : DbContext(options)
{
    public DbSet<Row> Rows => Set<Row>();
}

internal sealed class Row
{
    public int Id { get; set; }

    public string Name { get; set; } = string.Empty;
}

/// <summary>
/// SQL functions the tests need from SQLite: <c>sleep(ms)</c>, one genuinely slow statement (PostgreSQL's
/// <c>pg_sleep</c>); <c>fail_after(ms)</c>, a statement that takes that long and then fails.
/// </summary>
internal sealed class SqliteFunctions : DbConnectionInterceptor
{
    public static readonly SqliteFunctions Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Register(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Register(connection);
        return Task.CompletedTask;
    }

    private static void Register(DbConnection connection)
    {
        var sqlite = (SqliteConnection)connection;
        sqlite.CreateFunction("sleep", static (long ms) =>
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(ms));
            return ms;
        });
        sqlite.CreateFunction<long, long>("fail_after", static ms =>
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(ms));
            throw new InvalidOperationException("fail_after: failing on purpose");
        });
    }
}

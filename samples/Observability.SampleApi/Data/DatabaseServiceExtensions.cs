using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Observability.AspNetCore;

namespace Observability.SampleApi.Data;

/// <summary>Registers the sample's EF Core database.</summary>
internal static class DatabaseServiceExtensions
{
    public const string SqliteConnectionStringName = "Sqlite";
    public const string PostgresConnectionStringName = "Postgres";
    private const string DefaultSqliteConnectionString = "Data Source=sample-api.db";

    /// <summary>
    /// PostgreSQL when <c>ConnectionStrings:Postgres</c> is set, otherwise a SQLite file
    /// (<c>ConnectionStrings:Sqlite</c>), so <c>dotnet run</c> needs nothing but the .NET SDK. Nothing connects here:
    /// the schema is created by <see cref="DatabaseInitializer"/> on first use.
    /// </summary>
    public static IHostApplicationBuilder AddSampleDatabase(this IHostApplicationBuilder builder)
    {
        // The provider is chosen when the options are first needed, not now: configuration that a test host adds after
        // this line (WebApplicationFactory's ConfigureAppConfiguration) is then already there.
        builder.Services.AddDbContext<SampleDbContext>(
            (services, options) =>
            {
                var configuration = services.GetRequiredService<IConfiguration>();
                var postgres = configuration.GetConnectionString(PostgresConnectionStringName);
                if (!string.IsNullOrWhiteSpace(postgres))
                {
                    options.UseNpgsql(postgres);
                }
                else
                {
                    var sqlite = configuration.GetConnectionString(SqliteConnectionStringName);
                    var contentRoot = services.GetRequiredService<IHostEnvironment>().ContentRootPath;
                    options.UseSqlite(ResolveSqlitePath(string.IsNullOrWhiteSpace(sqlite) ? DefaultSqliteConnectionString : sqlite, contentRoot))
                        .AddInterceptors(SqliteSleepFunction.Instance);
                }
            },
            optionsLifetime: ServiceLifetime.Singleton);

        builder.Services.AddSingleton<DatabaseInitializer>();

        // The postgres health check follows the database the sample really uses: on with PostgreSQL, off on the SQLite
        // default (so `dotnet run` starts with nothing else installed). Decided when the options are built, like the
        // provider above, and only when the configuration has not chosen for itself.
        builder.Services.AddOptions<ObservabilityOptions>().PostConfigure<IConfiguration>(static (options, configuration) =>
        {
            var postgres = options.Health.Postgres;
            if (!string.IsNullOrWhiteSpace(configuration.GetConnectionString(PostgresConnectionStringName))
                && string.IsNullOrWhiteSpace(postgres.ConnectionStringName)
                && string.IsNullOrWhiteSpace(postgres.ConnectionString))
            {
                postgres.ConnectionStringName = PostgresConnectionStringName;
            }
        });
        return builder;
    }

    /// <summary>
    /// SQLite resolves a relative file against the current directory; resolving it against the content root instead
    /// puts the file in the same place however the app was started (<c>dotnet run</c>, <c>dotnet run --project</c>).
    /// </summary>
    private static string ResolveSqlitePath(string connectionString, string contentRoot)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var file = builder.DataSource;
        var isFile = builder.Mode != SqliteOpenMode.Memory
            && file.Length > 0
            && file != ":memory:"
            && !file.StartsWith("file:", StringComparison.OrdinalIgnoreCase);
        if (isFile && !Path.IsPathRooted(file))
        {
            builder.DataSource = Path.GetFullPath(file, contentRoot);
        }

        return builder.ConnectionString;
    }
}

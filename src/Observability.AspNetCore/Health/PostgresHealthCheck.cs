using System.Globalization;
using HealthChecks.NpgSql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Observability.AspNetCore.Health;

/// <summary>
/// The <c>postgres</c> check: AspNetCore.HealthChecks.NpgSql's <see cref="NpgSqlHealthCheck"/> running <c>SELECT 1</c> on
/// one long-lived <see cref="NpgsqlDataSource"/>. The package reports a failure with the driver's message as its
/// description; what users see is ours, the same text on every endpoint whichever driver message caused it.
/// </summary>
internal sealed class PostgresHealthCheck(PostgresDataSourceProvider source) : IHealthCheck
{
    public const string Name = "postgres";

    private const string Healthy = "PostgreSQL answered SELECT 1.";
    private const string Failed = "PostgreSQL did not answer SELECT 1.";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // The package's check never throws: a failure, a cancelled run included, comes back with its exception, which the
        // runner reads (a cancelled run reads "timed out").
        var result = await source.Check.CheckHealthAsync(context, cancellationToken).ConfigureAwait(false);
        if (result.Status == HealthStatus.Healthy)
        {
            return result;
        }

        source.OnFailure();
        return new HealthCheckResult(result.Status, Failed, result.Exception);
    }

    internal static NpgSqlHealthCheck Create(NpgsqlDataSource dataSource) => new(new NpgSqlHealthCheckOptions(dataSource)
    {
        CommandText = "SELECT 1",
        HealthCheckResultBuilder = static _ => HealthCheckResult.Healthy(Healthy),
    });
}

/// <summary>
/// The data source the check runs on: the app's <see cref="NpgsqlDataSource"/> when it registered one (the check then
/// costs the app no connections of its own), else one built once from the configured connection string, owned and
/// disposed with the host.
/// </summary>
internal sealed class PostgresDataSourceProvider(IServiceProvider services, IOptions<ObservabilityOptions> options, IConfiguration configuration) : IAsyncDisposable
{
    /// <summary>Shown in <c>pg_stat_activity</c> for the library's own connections, unless the connection string names one.</summary>
    public const string ApplicationName = "observability-health";

    private readonly Lock _gate = new();
    private NpgsqlDataSource? _dataSource;
    private NpgSqlHealthCheck? _check;
    private bool _owned;

    /// <summary>The package's check over <see cref="DataSource"/>, built once: it opens each run's connection from that data source.</summary>
    public NpgSqlHealthCheck Check => Volatile.Read(ref _check) ?? CreateCheck();

    public NpgsqlDataSource DataSource
    {
        get
        {
            if (Volatile.Read(ref _dataSource) is { } dataSource)
            {
                return dataSource;
            }

            lock (_gate)
            {
                if (_dataSource is null)
                {
                    var appDataSource = services.GetService<NpgsqlDataSource>();
                    _owned = appDataSource is null;
                    _dataSource = appDataSource ?? CreateOwn(options.Value.Health, configuration);
                }

                return _dataSource;
            }
        }
    }

    private NpgSqlHealthCheck CreateCheck()
    {
        var check = PostgresHealthCheck.Create(DataSource);
        return Interlocked.CompareExchange(ref _check, check, null) ?? check;
    }

    /// <summary>After a failure, drops the idle connections of our own pool, so the next run after a restart does not first trip over a dead one.</summary>
    public void OnFailure()
    {
        if (_owned)
        {
            _dataSource?.Clear();
        }
    }

    public ValueTask DisposeAsync() => _owned && _dataSource is { } own ? own.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>
    /// Named, so Npgsql's pool metrics label it <c>observability-health</c>: unnamed, a pool is labelled with its
    /// connection string minus the password (host, port, user, database and every setting) on the open <c>/metrics</c>.
    /// </summary>
    private static NpgsqlDataSource CreateOwn(HealthOptions health, IConfiguration configuration) =>
        new NpgsqlDataSourceBuilder(OwnConnectionString(health, configuration)) { Name = ApplicationName }.Build();

    internal static string OwnConnectionString(HealthOptions health, IConfiguration configuration)
    {
        var builder = new NpgsqlConnectionStringBuilder(HealthConnectionStrings.Resolve(health.Postgres, configuration));
        // Npgsql does not abandon a connection attempt on cancellation (measured: a silent server holds OpenAsync for
        // the full connect Timeout, default 15 s), so the connect and command timeouts follow the check's: a run that
        // hangs ends within a second after the check gave up on it. One second later, not at the same moment, so the
        // check's own timeout always fires first and the result reads "timed out" rather than a driver message.
        // Two connections at most: runs of one check never overlap.
        var timeoutSeconds = (int)Math.Ceiling((health.Postgres.TimeoutMs ?? health.TimeoutMs) / 1000d) + 1;
        builder.Timeout = timeoutSeconds;
        builder.CommandTimeout = timeoutSeconds;
        builder.MaxPoolSize = 2;
        builder.MinPoolSize = 0;
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = ApplicationName;
        }

        return builder.ConnectionString;
    }
}

/// <summary>Resolves a dependency's connection string from <c>ConnectionStringName</c> or <c>ConnectionString</c>.</summary>
internal static class HealthConnectionStrings
{
    public static string Resolve(HealthDependencyOptions dependency, IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(dependency.ConnectionString)
            ? dependency.ConnectionString
            : configuration.GetConnectionString(dependency.ConnectionStringName!)
                ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"ConnectionStrings:{dependency.ConnectionStringName} is not set."));
}

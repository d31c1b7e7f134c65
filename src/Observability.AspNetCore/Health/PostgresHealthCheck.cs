using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Observability.AspNetCore.Health;

/// <summary>
/// The <c>postgres</c> check: <c>SELECT 1</c> on one long-lived <see cref="NpgsqlDataSource"/>. Our own rather than
/// AspNetCore.HealthChecks.NpgSql: the only version the feed serves (3.0.0) opens <c>new NpgsqlConnection(connectionString)</c>
/// per run and cannot use a data source, so it can neither share the app's pool nor bound its own.
/// </summary>
internal sealed class PostgresHealthCheck(PostgresDataSourceProvider source) : IHealthCheck
{
    public const string Name = "postgres";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = source.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("PostgreSQL answered SELECT 1.");
        }
        catch (Exception ex)
        {
            // Never throw: the runner reports the status; a cancelled run is reported as timed out by the runner.
            source.OnFailure();
            return new HealthCheckResult(context.Registration.FailureStatus, "PostgreSQL did not answer SELECT 1.", ex);
        }
    }
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
    private bool _owned;

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

using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Observability.SampleApi.Data;

/// <summary>
/// Gives SQLite a <c>sleep(ms)</c> SQL function, the counterpart of PostgreSQL's <c>pg_sleep</c>, so that
/// <c>GET /api/db/slow</c> is one genuinely slow statement on either database instead of a CPU-burning query.
/// SQLite functions live on a connection, so the function is registered each time EF Core opens one.
/// </summary>
internal sealed class SqliteSleepFunction : DbConnectionInterceptor
{
    public const string Name = "sleep";

    public static readonly SqliteSleepFunction Instance = new();

    private SqliteSleepFunction()
    {
    }

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Register(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Register(connection);
        return Task.CompletedTask;
    }

    private static void Register(DbConnection connection)
    {
        if (connection is SqliteConnection sqlite)
        {
            // SQLite calls functions synchronously on the executing thread, so blocking is the only way to take time
            // without spending CPU; the endpoint bounds the duration.
            sqlite.CreateFunction(Name, static (long milliseconds) =>
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(milliseconds));
                return milliseconds;
            });
        }
    }
}

using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Observability.AspNetCore.Tracing;

/// <summary>
/// A client span per EF Core command on providers that trace nothing themselves (SQLite, SQL Server, MySQL, ...):
/// OpenTelemetry's EF Core instrumentation exists only as a prerelease. Npgsql commands are left to Npgsql's own spans.
/// Registered only when tracing is on.
/// </summary>
/// <remarks>
/// The span is kept beside its command from the <c>Executing</c> to the <c>Executed</c>/<c>Failed</c> hook, not read
/// back from <see cref="Activity.Current"/>: with two interceptors EF Core calls them from an async method, which
/// drops whatever the hook made current. A weak table, so a command that never completes leaks nothing.
/// </remarks>
internal sealed class EfCoreCommandSpans : DbCommandInterceptor
{
    public const string SourceName = "Observability.AspNetCore.EntityFrameworkCore";

    private static readonly string[] Operations = ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "CREATE", "ALTER", "DROP", "PRAGMA", "EXEC", "EXECUTE", "CALL"];

    private static readonly ActivitySource Source = new(SourceName, typeof(EfCoreCommandSpans).Assembly.GetName().Version?.ToString());

    private readonly ConditionalWeakTable<DbCommand, Activity> _running = new();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Start(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Start(command, eventData);
        return new(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Start(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Start(command, eventData);
        return new(result);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Start(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Start(command, eventData);
        return new(result);
    }

    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        Stop(command, null);
        return result;
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Stop(command, null);
        return new(result);
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        Stop(command, null);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Stop(command, null);
        return new(result);
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        Stop(command, null);
        return result;
    }

    public override ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Stop(command, null);
        return new(result);
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => Stop(command, eventData.Exception);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Stop(command, eventData.Exception);
        return Task.CompletedTask;
    }

    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData) => Stop(command, new OperationCanceledException());

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Stop(command, new OperationCanceledException());
        return Task.CompletedTask;
    }

    private void Start(DbCommand command, CommandEventData eventData)
    {
        if (command is NpgsqlCommand || !Source.HasListeners())
        {
            return;
        }

        var system = DbSystemName(eventData.Context?.Database.ProviderName);
        var operation = OperationName(command.CommandText);
        var database = command.Connection?.Database;
        var name = operation is null ? system : string.IsNullOrEmpty(database) ? operation : operation + " " + database;
        if (Source.StartActivity(name, ActivityKind.Client) is not { } activity)
        {
            return;
        }

        _running.AddOrUpdate(command, activity);
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("db.system.name", system);
            if (!string.IsNullOrEmpty(database))
            {
                activity.SetTag("db.namespace", database);
            }

            if (operation is not null)
            {
                activity.SetTag("db.operation.name", operation);
            }

            // EF Core sends parameters separately, so the text holds placeholders, not the values.
            activity.SetTag("db.query.text", command.CommandText);
        }
    }

    private void Stop(DbCommand command, Exception? exception)
    {
        if (!_running.TryGetValue(command, out var activity))
        {
            return;
        }

        _running.Remove(command);

        if (exception is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
            activity.SetTag("error.type", exception.GetType().FullName);
            activity.AddException(exception);
        }

        activity.Stop();
    }

    /// <summary>The OpenTelemetry <c>db.system.name</c> of the common EF Core providers.</summary>
    internal static string DbSystemName(string? providerName) => providerName switch
    {
        "Microsoft.EntityFrameworkCore.Sqlite" => "sqlite",
        "Microsoft.EntityFrameworkCore.SqlServer" => "microsoft.sql_server",
        "Pomelo.EntityFrameworkCore.MySql" or "MySql.EntityFrameworkCore" => "mysql",
        "Oracle.EntityFrameworkCore" => "oracle.db",
        "Npgsql.EntityFrameworkCore.PostgreSQL" => "postgresql",
        "FirebirdSql.EntityFrameworkCore.Firebird" => "firebirdsql",
        _ => "other_sql",
    };

    /// <summary>The statement's first keyword (<c>SELECT</c>, <c>INSERT</c>, ...), or null when it does not start with one.</summary>
    internal static string? OperationName(string? commandText)
    {
        var text = commandText.AsSpan().TrimStart();
        var end = 0;
        while (end < text.Length && char.IsAsciiLetter(text[end]))
        {
            end++;
        }

        foreach (var keyword in Operations)
        {
            if (text[..end].Equals(keyword, StringComparison.OrdinalIgnoreCase))
            {
                return keyword;
            }
        }

        return null;
    }
}

/// <summary>Adds <see cref="EfCoreCommandSpans"/> to every EF Core context of the app, as slow-query detection adds its interceptor.</summary>
/// <typeparam name="TContext">The context type.</typeparam>
internal sealed class EfCoreCommandSpansConfiguration<TContext> : IDbContextOptionsConfiguration<TContext>
    where TContext : DbContext
{
    public void Configure(IServiceProvider serviceProvider, DbContextOptionsBuilder optionsBuilder)
    {
        if (serviceProvider.GetService<EfCoreCommandSpans>() is { } interceptor)
        {
            optionsBuilder.AddInterceptors(interceptor);
        }
    }
}

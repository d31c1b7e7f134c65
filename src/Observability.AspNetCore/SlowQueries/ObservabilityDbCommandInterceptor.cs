using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>
/// Times every command of every EF Core context of the app, on any relational provider, with EF Core's own measurement
/// (<see cref="CommandEndEventData.Duration"/>: until the command returned its reader, its row count or its scalar).
/// One instance per host, added to each context's options by <see cref="ObservabilityDbContextOptionsConfiguration{TContext}"/>.
/// </summary>
internal sealed class ObservabilityDbCommandInterceptor(SlowQueryMonitor monitor) : DbCommandInterceptor
{
    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        Observe(command, eventData.Duration, null);
        return result;
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Observe(command, eventData.Duration, null);
        return new(result);
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        Observe(command, eventData.Duration, null);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Observe(command, eventData.Duration, null);
        return new(result);
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        Observe(command, eventData.Duration, null);
        return result;
    }

    public override ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Observe(command, eventData.Duration, null);
        return new(result);
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) =>
        Observe(command, eventData.Duration, eventData.Exception.GetType().Name);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Observe(command, eventData.Duration, eventData.Exception.GetType().Name);
        return Task.CompletedTask;
    }

    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData) =>
        Observe(command, eventData.Duration, nameof(OperationCanceledException));

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Observe(command, eventData.Duration, nameof(OperationCanceledException));
        return Task.CompletedTask;
    }

    private void Observe(DbCommand command, TimeSpan duration, string? errorType)
    {
        try
        {
            monitor.OnEfCoreCommand(command, duration, errorType);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Never into the app's command: what cannot be observed is skipped, and said once on stderr.
            Serilog.Debugging.SelfLog.WriteLine("Observability: the EF Core command interceptor failed and skips the commands it cannot read: {0}", ex.GetType().Name + ": " + ex.Message);
        }
    }
}

/// <summary>
/// Adds the interceptor to the options of every EF Core context the app registers (<c>AddDbContext</c>,
/// <c>AddDbContextPool</c>, <c>AddDbContextFactory</c>, ...), whether they were registered before or after
/// <c>AddObservability()</c>: EF Core builds a context's options by running every
/// <see cref="IDbContextOptionsConfiguration{TContext}"/> the container resolves, and this open generic registration
/// resolves for every <typeparamref name="TContext"/>. Not covered: a context constructed with <c>new</c> and configured
/// in <c>OnConfiguring</c> only, which never asks the container (raw Npgsql commands are still seen by the listener).
/// </summary>
/// <typeparam name="TContext">The context type.</typeparam>
internal sealed class ObservabilityDbContextOptionsConfiguration<TContext> : IDbContextOptionsConfiguration<TContext>
    where TContext : DbContext
{
    public void Configure(IServiceProvider serviceProvider, DbContextOptionsBuilder optionsBuilder)
    {
        if (serviceProvider.GetService<ObservabilityDbCommandInterceptor>() is { } interceptor)
        {
            optionsBuilder.AddInterceptors(interceptor);
        }
    }
}

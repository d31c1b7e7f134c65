using System.Data;
using System.Data.Common;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.SlowQueries;
using Observability.Benchmarks.Harness;

namespace Observability.Benchmarks.SlowQueries;

/// <summary>
/// A fast database command (1.2 ms, under the 500 ms default threshold) as the library sees it, inside a request, with
/// the defaults (metrics on, N+1 detection on): through the real EF Core interceptor, and through the Npgsql listener's
/// callback with a finished command activity. The request's statistics object already exists (created by its first
/// command), so each row is the cost of one more command. Target: no string formatting and no allocation.
/// </summary>
[MemoryDiagnoser]
public class SlowQueryBenchmarks
{
    private const string SelectItem = "SELECT i.\"Id\", i.\"Name\", i.\"Price\" FROM \"Items\" AS i WHERE i.\"Id\" = @__id_0 LIMIT 1";
    private const string SelectStock = "SELECT s.\"Quantity\" FROM \"Stock\" AS s WHERE s.\"ItemId\" = @__id_0";

    private IHost _host = null!;
    private ObservabilityDbCommandInterceptor _interceptor = null!;
    private SlowQueryMonitor _monitor = null!;
    private BenchDbCommand _command = null!;
    private BenchDbCommand _otherCommand = null!;
    private CommandExecutedEventData _executed = null!;
    private CommandExecutedEventData _otherExecuted = null!;
    private Activity _npgsqlActivity = null!;
    private ActivitySource _npgsqlSource = null!;
    private bool _flip;

    [GlobalSetup]
    public void Setup()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Production });
        builder.AddObservability();
        _host = builder.Build();
        var services = _host.Services;
        // Built here, not resolved: the library registers its EF Core hook only in apps whose own dependencies include
        // EF Core, and this project reaches EF Core only through the library.
        _interceptor = ActivatorUtilities.CreateInstance<ObservabilityDbCommandInterceptor>(services);
        _monitor = services.GetRequiredService<SlowQueryMonitor>();

        // The commands run inside a request: the accessor sees it, and its scope collects the request's statistics.
        var request = new BenchRequest("GET", "/api/items/42", MiddlewareHost.Endpoint("/api/items/{id:int}"));
        RequestScope.GetOrCreate(request.Context, "X-Request-ID");
        services.GetRequiredService<IHttpContextAccessor>().HttpContext = request.Context;

        var connection = new BenchDbConnection();
        _command = new BenchDbCommand(connection, SelectItem);
        _otherCommand = new BenchDbCommand(connection, SelectStock);
        _executed = Executed(connection, _command);
        _otherExecuted = Executed(connection, _otherCommand);

        // A finished Npgsql command activity as Npgsql reports it: query text and database tags, first-response event.
        _npgsqlActivity = new Activity("postgresql");
        _npgsqlActivity.SetTag("db.system.name", "postgresql").SetTag("db.namespace", "shop").SetTag("db.query.text", SelectItem);
        _npgsqlActivity.Start();
        _npgsqlActivity.AddEvent(new ActivityEvent("received-first-response"));
        _npgsqlActivity.Stop();

        // The listener is registered when the host starts the monitor; a source named like Npgsql's then creates activities.
        _monitor.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        _npgsqlSource = new ActivitySource(NpgsqlCommandListener.SourceName);

        EfCore_interceptor_fast_command();
        if (RequestScope.Find(request.Context)?.Db is not { Commands: 1 })
        {
            throw new InvalidOperationException("The command was not recorded in the request's statistics: the benchmark would measure nothing.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _monitor.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        _npgsqlSource.Dispose();
        _host.Dispose();
    }

    /// <summary>EF Core's interceptor callback for a finished fast reader command, the same command text as the previous one.</summary>
    [Benchmark]
    public void EfCore_interceptor_fast_command() => _interceptor.ReaderExecuted(_command, _executed, null!);

    /// <summary>The same, alternating two command texts, so the N+1 shape hash is computed every time.</summary>
    [Benchmark]
    public void EfCore_interceptor_fast_command_alternating_texts()
    {
        _flip = !_flip;
        if (_flip)
        {
            _interceptor.ReaderExecuted(_otherCommand, _otherExecuted, null!);
        }
        else
        {
            _interceptor.ReaderExecuted(_command, _executed, null!);
        }
    }

    /// <summary>The Npgsql listener's work for a finished fast command activity (what ActivityStopped hands it).</summary>
    [Benchmark]
    public void Npgsql_listener_fast_command() => _monitor.OnNpgsqlActivity(_npgsqlActivity);

    /// <summary>
    /// What one raw Npgsql command costs because the listener listens: Npgsql then creates an activity per command
    /// (approximated here with the tags and event Npgsql sets), and the listener reads it when it stops.
    /// </summary>
    [Benchmark]
    public void Npgsql_activity_created_for_the_listener()
    {
        using var activity = _npgsqlSource.StartActivity("postgresql", ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("db.system.name", "postgresql");
            activity.SetTag("db.namespace", "shop");
            activity.SetTag("db.query.text", SelectItem);
            activity.AddEvent(new ActivityEvent("received-first-response"));
        }
    }

    private static CommandExecutedEventData Executed(DbConnection connection, DbCommand command) => new(
        eventDefinition: null!,
        messageGenerator: null!,
        connection,
        command,
        command.CommandText,
        context: null,
        DbCommandMethod.ExecuteReader,
        commandId: Guid.NewGuid(),
        connectionId: Guid.NewGuid(),
        result: null,
        async: true,
        logParameterValues: false,
        startTime: DateTimeOffset.UtcNow,
        duration: TimeSpan.FromMilliseconds(1.2),
        CommandSource.LinqQuery);

    private sealed class BenchDbConnection : DbConnection
    {
        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string ConnectionString { get; set; } = string.Empty;

        public override string Database => "shop";

        public override string DataSource => "bench";

        public override string ServerVersion => "1";

        public override ConnectionState State => ConnectionState.Open;

        public override void ChangeDatabase(string databaseName) => throw new NotSupportedException();

        public override void Close()
        {
        }

        public override void Open()
        {
        }

        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => throw new NotSupportedException();

        protected override DbCommand CreateDbCommand() => throw new NotSupportedException();
    }

    private sealed class BenchDbCommand(DbConnection connection, string text) : DbCommand
    {
        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string CommandText { get; set; } = text;

        public override int CommandTimeout { get; set; }

        public override CommandType CommandType { get; set; } = CommandType.Text;

        public override bool DesignTimeVisible { get; set; }

        public override UpdateRowSource UpdatedRowSource { get; set; }

        protected override DbConnection? DbConnection { get; set; } = connection;

        protected override DbParameterCollection DbParameterCollection => throw new NotSupportedException();

        protected override DbTransaction? DbTransaction { get; set; }

        public override void Cancel()
        {
        }

        public override int ExecuteNonQuery() => throw new NotSupportedException();

        public override object? ExecuteScalar() => throw new NotSupportedException();

        public override void Prepare()
        {
        }

        protected override DbParameter CreateDbParameter() => throw new NotSupportedException();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => throw new NotSupportedException();
    }
}

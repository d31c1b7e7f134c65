using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Pipeline;
using Prometheus;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;

namespace Observability.Benchmarks.Facts;

/// <summary>
/// Re-measures, on this machine, the building blocks the design relies on (the "measured facts" of issue 7), so the
/// numbers behind each choice stay checkable: ID generation, prometheus-net label lookup and exemplars, Serilog event
/// construction and CLEF formatting, and the small per-request helpers of the middleware.
/// </summary>
[MemoryDiagnoser]
public class MeasuredFactsBenchmarks
{
    private static readonly string[] LabelNames = ["method", "endpoint", "status"];
    private static readonly MessageTemplate Template = new MessageTemplateParser().Parse("{RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed} ms");

    private Counter _counter = null!;
    private Counter.Child _cachedChild = null!;
    private Histogram.Child _histogramDefaultExemplars = null!;
    private Histogram.Child _histogramNoExemplars = null!;
    private Logger _nullSinkLogger = null!;
    private long _start;
    private HttpContextAccessor _accessor = null!;
    private DefaultHttpContext _context = null!;
    private Activity _requestActivity = null!;

    [GlobalSetup]
    public void Setup()
    {
        var defaults = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        _histogramDefaultExemplars = defaults.CreateHistogram("duration_default_seconds", "help", LabelNames).WithLabels("GET", "/api/items/{id:int}", "200");

        // The label-lookup pair uses exemplars off (as the library does), so it measures the lookup alone.
        var noExemplars = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        noExemplars.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        _histogramNoExemplars = noExemplars.CreateHistogram("duration_none_seconds", "help", LabelNames).WithLabels("GET", "/api/items/{id:int}", "200");
        _counter = noExemplars.CreateCounter("requests_total", "help", LabelNames);
        _cachedChild = _counter.WithLabels("GET", "/api/items/{id:int}", "200");

        _nullSinkLogger = new LoggerConfiguration().MinimumLevel.Information().WriteTo.Sink(new NullSink()).CreateLogger();
        _start = Stopwatch.GetTimestamp();
        _accessor = new HttpContextAccessor();
        _context = new DefaultHttpContext();

        // ASP.NET Core's hosting starts an activity per request whenever logging is on (in every app here), so a
        // request's observations see a current trace.
        _requestActivity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn");
        _requestActivity.SetIdFormat(ActivityIdFormat.W3C);
        _requestActivity.Start();

        // Left current for the run (benchmarks run on the thread that ran this setup): setting Activity.Current per
        // call would cost more than what is measured.
        Activity.Current = _requestActivity;
    }

    [Benchmark]
    public long Stopwatch_GetTimestamp() => Stopwatch.GetTimestamp();

    [Benchmark]
    public string Guid_NewGuid_ToString() => Guid.NewGuid().ToString();

    [Benchmark]
    public string RequestIdGenerator_Next() => RequestIdGenerator.Next();

    /// <summary>The <c>X-Response-Time</c> text from the <c>"0.##"</c> format of a double (the middleware's first version).</summary>
    [Benchmark]
    public string ResponseTime_format_double() => FormatResponseTimeDouble(Stopwatch.GetElapsedTime(_start).TotalMilliseconds % 1000);

    /// <summary>The same text as the middleware builds it now, from integer arithmetic.</summary>
    [Benchmark]
    public string ResponseTime_format_integer() => ObservabilityMiddleware.FormatResponseTime(Stopwatch.GetElapsedTime(_start).TotalMilliseconds % 1000);

    [Benchmark]
    public void Prometheus_WithLabels_Inc() => _counter.WithLabels("GET", "/api/items/{id:int}", "200").Inc();

    [Benchmark]
    public void Prometheus_cached_child_Inc() => _cachedChild.Inc();

    /// <summary>prometheus-net's default: an exemplar from the current trace on each observation (inside a request's activity).</summary>
    [Benchmark]
    public void Prometheus_Observe_default_exemplars_in_request()
    {
        if (Activity.Current is null)
        {
            throw new InvalidOperationException("No current activity: this would not measure the exemplar.");
        }

        _histogramDefaultExemplars.Observe(0.0012);
    }

    /// <summary>Exemplars off (the library's choice), same activity.</summary>
    [Benchmark]
    public void Prometheus_Observe_no_exemplars_in_request()
    {
        if (Activity.Current is null)
        {
            throw new InvalidOperationException("No current activity: this would not measure the exemplar.");
        }

        _histogramNoExemplars.Observe(0.0012);
    }

    /// <summary>Serilog's usual API: parses (cached) the template and captures four properties, to a sink that does nothing.</summary>
    [Benchmark]
    public void Serilog_Write_template_args() =>
        _nullSinkLogger.Write(LogEventLevel.Information, "{RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed} ms", "GET", "/api/items/42", 200, 1.234);

    /// <summary>The same four properties with a pre-parsed template and constant property names, to the same sink.</summary>
    [Benchmark]
    public void Serilog_Write_preparsed_event() => _nullSinkLogger.Write(new LogEvent(
        DateTimeOffset.Now,
        LogEventLevel.Information,
        null,
        Template,
        [
            new LogEventProperty("RequestMethod", new ScalarValue("GET")),
            new LogEventProperty("RequestPath", new ScalarValue("/api/items/42")),
            new LogEventProperty("StatusCode", new ScalarValue(200)),
            new LogEventProperty("Elapsed", new ScalarValue(1.234)),
        ]));

    /// <summary>The completion event's timestamp as the library takes it (local time: a time-zone lookup per event).</summary>
    [Benchmark]
    public DateTimeOffset DateTimeOffset_Now() => DateTimeOffset.Now;

    /// <summary>CLEF writes UTC anyway ("@t"); the UTC clock skips the time-zone conversion.</summary>
    [Benchmark]
    public DateTimeOffset DateTimeOffset_UtcNow() => DateTimeOffset.UtcNow;

    /// <summary>
    /// What ASP.NET Core's hosting does on every request once an IHttpContextAccessor is registered (AddObservability
    /// registers one for the enricher): set the current request into the accessor's AsyncLocal, clear it at the end.
    /// A bare app without the accessor pays none of it.
    /// </summary>
    [Benchmark]
    public void HttpContextAccessor_set_and_clear()
    {
        _accessor.HttpContext = _context;
        _accessor.HttpContext = null;
    }

    private static string FormatResponseTimeDouble(double milliseconds)
    {
        Span<char> buffer = stackalloc char[32];
        milliseconds.TryFormat(buffer, out var written, "0.##", CultureInfo.InvariantCulture);
        buffer[written++] = 'm';
        buffer[written++] = 's';
        return new string(buffer[..written]);
    }

    private sealed class NullSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
        }
    }
}

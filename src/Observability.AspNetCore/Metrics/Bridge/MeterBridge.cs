using System.Diagnostics.Metrics;
using System.Numerics;
using Prometheus;
using Serilog.Debugging;

namespace Observability.AspNetCore.Metrics.Bridge;

/// <summary>
/// Exports <c>System.Diagnostics.Metrics</c> instruments (the app's, its libraries') to a prometheus-net registry under
/// names <c>promtool check metrics</c> accepts. Replaces prometheus-net's own meter adapter, which exports a
/// <c>Counter&lt;T&gt;</c> as a gauge and produces names promtool rejects.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>Counter&lt;T&gt;</c> and <c>ObservableCounter&lt;T&gt;</c> become counters (<c>&lt;name&gt;[_&lt;unit&gt;]_total</c>),
/// <c>Histogram&lt;T&gt;</c> a histogram (buckets from the instrument's advice, else by unit), the rest gauges. Naming
/// rules are in <see cref="PrometheusNaming"/>.</item>
/// <item>Observable instruments are observed when the registry is scraped (a before-collect callback registered here), so
/// nothing runs on a timer.</item>
/// <item>Two instruments that map to one metric name: the first published keeps it, later ones are skipped and reported
/// once through Serilog's SelfLog. When the owner's meter is disposed the name is released, so a meter re-created under
/// the same name (a restarted host in the same process) continues the same metric.</item>
/// <item>At most <c>maxSeriesPerInstrument</c> label combinations per instrument: measurements with further new
/// combinations are dropped and the instrument is reported once through SelfLog (not as a metric: the bridge adds no
/// metric names of its own to the app's namespace).</item>
/// <item>Every name gets the <c>prefix</c> (<c>Observability:Metrics:Prefix</c>), as the library's own families do.</item>
/// <item>Label values that are connection strings keep only host, port and database (<see cref="LabelValues"/>): drivers
/// name an unnamed pool by its connection string, on an endpoint that is open by default.</item>
/// <item>With a <c>meterScope</c> (the host's <c>IMeterFactory</c>), meters another host's factory created are skipped:
/// two hosts in one process (integration tests) create meters of the same names, and without the scope each host's
/// registry would export whichever host's instrument was published first. Meters created with <c>new Meter(...)</c>
/// have no scope and are exported by every bridge.</item>
/// <item>A name that the library or the app already registered in the registry as another type is skipped and reported; one
/// already registered as the same type with the same labels is shared (prometheus-net returns the existing metric).</item>
/// </list>
/// </remarks>
internal sealed class MeterBridge : IDisposable
{
    // Powers of 4 from 64 B to 256 MiB: payloads and buffers span many orders of magnitude, 12 buckets cover them.
    private static readonly double[] ByteBuckets = Prometheus.Histogram.ExponentialBuckets(64, 4, 12);

    private readonly CollectorRegistry _registry;
    private readonly MetricFactory _factory;
    private readonly MeterFilter _filter;
    private readonly MeterListener _listener;
    private readonly int _maxSeries;
    private readonly object? _meterScope;
    private readonly string _prefix;
    private readonly Lock _sync = new();
    private readonly Dictionary<string, InstrumentBinding> _owners = new(StringComparer.Ordinal);
    private volatile bool _disposed;
    private int _observeFailureReported;

    public MeterBridge(
        CollectorRegistry registry,
        IReadOnlyList<string>? meters,
        IReadOnlyList<string> excludeMeters,
        int maxSeriesPerInstrument = 1000,
        object? meterScope = null,
        string prefix = "",
        IReadOnlyList<string>? builtInExclude = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(excludeMeters);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSeriesPerInstrument);

        _registry = registry;
        _maxSeries = maxSeriesPerInstrument;
        _meterScope = meterScope;
        _prefix = prefix;
        _filter = new MeterFilter(meters, excludeMeters, builtInExclude);
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();

        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };

        // One callback per numeric type the listener supports; each converts to double without boxing.
        _listener.SetMeasurementEventCallback<byte>(OnMeasurement);
        _listener.SetMeasurementEventCallback<short>(OnMeasurement);
        _listener.SetMeasurementEventCallback<int>(OnMeasurement);
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.SetMeasurementEventCallback<float>(OnMeasurement);
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.SetMeasurementEventCallback<decimal>(OnMeasurement);

        registry.AddBeforeCollectCallback(RecordObservables);

        // Start publishes every existing instrument to OnInstrumentPublished; instruments created later arrive as they are.
        _listener.Start();
    }

    /// <summary>
    /// Observes the observable instruments (their callbacks run now and feed the metrics). Registered as the registry's
    /// before-collect callback by the constructor; never throws, because a throwing callback fails the whole scrape.
    /// </summary>
    public void RecordObservables()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            _listener.RecordObservableInstruments();
        }
        catch (Exception ex)
        {
            // An app's observable callback threw (the listener observes the others first, then rethrows).
            if (Interlocked.Exchange(ref _observeFailureReported, 1) == 0)
            {
                SelfLog.WriteLine("Observability: an observable instrument's callback failed while the metrics bridge observed it: {0}", ex);
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;

        // Stops every measurement callback. The registry cannot unregister the before-collect callback; it checks _disposed.
        _listener.Dispose();
    }

    private static void OnMeasurement<T>(Instrument instrument, T measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        where T : struct, INumberBase<T>
    {
        // The state is the binding handed to EnableMeasurementEvents: no lookup per measurement.
        if (state is InstrumentBinding binding)
        {
            binding.Record(double.CreateTruncating(measurement), tags);
        }
    }

    private static BridgedKind? KindOf(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(Counter<>))
        {
            return BridgedKind.Counter;
        }

        if (definition == typeof(ObservableCounter<>))
        {
            return BridgedKind.ObservableCounter;
        }

        if (definition == typeof(Histogram<>))
        {
            return BridgedKind.Histogram;
        }

        if (definition == typeof(UpDownCounter<>))
        {
            return BridgedKind.UpDownCounter;
        }

        if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>))
        {
            return BridgedKind.Gauge;
        }

        return null;
    }

    /// <summary>
    /// Bucket upper bounds in the exported unit: the instrument's advice (<c>InstrumentAdvice&lt;T&gt;.HistogramBucketBoundaries</c>)
    /// converted like the values, else the library's duration buckets for time, powers of 4 for bytes, else null
    /// (prometheus-net's defaults).
    /// </summary>
    private static double[]? BucketsFor(Instrument instrument, UnitConversion? unit)
    {
        var advice = instrument switch
        {
            Instrument<double> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<float> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<long> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<int> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<short> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<byte> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            Instrument<decimal> i => ToDoubles(i.Advice?.HistogramBucketBoundaries),
            _ => null,
        };

        if (advice is not null)
        {
            // prometheus-net needs strictly increasing finite bounds (it adds +Inf itself).
            var buckets = new List<double>(advice.Length);
            foreach (var bound in advice)
            {
                var converted = unit is null ? bound : unit.Convert(bound);
                if (double.IsFinite(converted) && (buckets.Count == 0 || converted > buckets[^1]))
                {
                    buckets.Add(converted);
                }
            }

            if (buckets.Count > 0)
            {
                return [.. buckets];
            }
        }

        return unit?.Suffix switch
        {
            "seconds" => [.. MetricsOptions.DefaultDurationBuckets],
            "bytes" => ByteBuckets,
            _ => null,
        };

        static double[]? ToDoubles<T>(IReadOnlyList<T>? bounds)
            where T : struct, INumberBase<T>
        {
            if (bounds is null || bounds.Count == 0)
            {
                return null;
            }

            var result = new double[bounds.Count];
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = double.CreateTruncating(bounds[i]);
            }

            return result;
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        try
        {
            if (_disposed
                || !_filter.IsExported(instrument.Meter.Name)
                || (_meterScope is not null && instrument.Meter.Scope is { } scope && !ReferenceEquals(scope, _meterScope))
                || KindOf(instrument) is not { } kind)
            {
                return;
            }

            var unit = PrometheusNaming.ResolveUnit(instrument.Unit);
            var name = PrometheusNaming.MetricName(instrument.Name, unit, kind);
            if (name.Length == 0)
            {
                SelfLog.WriteLine("Observability: the metrics bridge skips {0}/{1}: its name has no letter or digit", instrument.Meter.Name, instrument.Name);
                return;
            }

            // The prefix the library's own families carry: a prefixed app's bridged families are told apart the same way.
            name = _prefix + name;
            var buckets = kind == BridgedKind.Histogram ? BucketsFor(instrument, unit) : null;
            var binding = new InstrumentBinding(instrument, kind, name, unit, buckets, _factory, _registry, _maxSeries);
            lock (_sync)
            {
                if (_owners.TryGetValue(name, out var owner))
                {
                    SelfLog.WriteLine(
                        "Observability: the metrics bridge skips {0}: {1} is already exported as {2}",
                        instrument.Meter.Name + "/" + instrument.Name,
                        owner.Instrument.Meter.Name + "/" + owner.Instrument.Name,
                        name);
                    return;
                }

                _owners.Add(name, binding);
            }

            listener.EnableMeasurementEvents(instrument, binding);
        }
        catch (Exception ex)
        {
            // Runs on the thread creating the instrument: a failure here must not fail the app's meter setup.
            SelfLog.WriteLine("Observability: the metrics bridge could not bridge {0}/{1}: {2}", instrument.Meter.Name, instrument.Name, ex);
        }
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is not InstrumentBinding binding)
        {
            return;
        }

        lock (_sync)
        {
            if (_owners.TryGetValue(binding.MetricName, out var owner) && ReferenceEquals(owner, binding))
            {
                _owners.Remove(binding.MetricName);
            }
        }
    }
}

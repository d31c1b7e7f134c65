using System.Collections.Concurrent;
using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Prometheus;
using Serilog.Debugging;

namespace Observability.AspNetCore.Metrics.Bridge;

/// <summary>
/// One bridged instrument: the MeterListener's per-instrument state (so a measurement reaches its Prometheus metric without
/// a lookup by instrument), the Prometheus metric created at the first measurement, and the cache of its series.
/// </summary>
/// <remarks>
/// The label set is fixed by the first measurement's tag keys, sorted by label name: Prometheus wants one label set per
/// metric and a measurement's tags are all the bridge can see. Later measurements fill a missing key with <c>""</c> and
/// drop keys that are not in the set; a histogram named <c>*.duration</c> always has <c>error_type</c>. Every failure is caught here (a measurement callback runs inside the app's code and
/// must never throw into it) and reported once per instrument and kind of failure through Serilog's SelfLog.
/// </remarks>
internal sealed class InstrumentBinding
{
    // Label values of a measurement are gathered in a stack buffer this size; more labels borrow a pooled array.
    private const int InlineLabelCount = 8;

    private const string ErrorTypeKey = "error.type";

    private readonly MetricFactory _factory;
    private readonly CollectorRegistry _registry;
    private readonly UnitConversion? _unit;
    private readonly double[]? _buckets;
    private readonly int _maxSeries;
    private readonly Lock _sync = new();
    private Family? _family;
    private volatile bool _disabled;
    private int _reported;

    public InstrumentBinding(Instrument instrument, BridgedKind kind, string metricName, UnitConversion? unit, double[]? buckets, MetricFactory factory, CollectorRegistry registry, int maxSeries)
    {
        Instrument = instrument;
        Kind = kind;
        MetricName = metricName;
        _unit = unit is { IsIdentity: false } ? unit : null;
        _buckets = buckets;
        _factory = factory;
        _registry = registry;
        _maxSeries = maxSeries;
    }

    [Flags]
    private enum Problem
    {
        None = 0,
        Create = 1,
        Measurement = 2,
        Invalid = 4,
        Cardinality = 8,
    }

    public Instrument Instrument { get; }

    public BridgedKind Kind { get; }

    public string MetricName { get; }

    /// <summary>The hot path: no allocation once the series exists, never throws.</summary>
    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_disabled)
        {
            return;
        }

        try
        {
            var family = Volatile.Read(ref _family) ?? CreateFamily(tags);
            if (family is null)
            {
                return;
            }

            var child = family.Find(tags) ?? AddSeries(family, tags);
            if (child is null)
            {
                return;
            }

            if (_unit is not null)
            {
                value = _unit.Convert(value);
            }

            switch (Kind)
            {
                case BridgedKind.Counter:
                    // prometheus-net throws on a negative increment and a NaN one would stick forever.
                    if (value >= 0)
                    {
                        ((Counter.Child)child).Inc(value);
                    }
                    else
                    {
                        ReportInvalid(value);
                    }

                    break;
                case BridgedKind.ObservableCounter:
                    // The observation is the cumulative value. IncTo never lowers a counter, so a reset in the source
                    // holds the exported value until the source passes it again instead of emitting a decrease.
                    if (value >= 0)
                    {
                        ((Counter.Child)child).IncTo(value);
                    }
                    else
                    {
                        ReportInvalid(value);
                    }

                    break;
                case BridgedKind.UpDownCounter:
                    if (!double.IsNaN(value))
                    {
                        ((Gauge.Child)child).Inc(value);
                    }

                    break;
                case BridgedKind.Gauge:
                    ((Gauge.Child)child).Set(value);
                    break;
                case BridgedKind.Histogram:
                    if (!double.IsNaN(value))
                    {
                        ((Histogram.Child)child).Observe(value);
                    }

                    break;
            }
        }
        catch (Exception ex)
        {
            Report(Problem.Measurement, "Observability: the metrics bridge could not record a measurement of {0}: {1}", Describe(), ex);
        }
    }

    private Family? CreateFamily(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_sync)
        {
            if (_family is { } existing)
            {
                return existing;
            }

            if (_disabled)
            {
                return null;
            }

            try
            {
                var family = new Family(CreateCollector(tags, out var tagKeys), tagKeys);
                Volatile.Write(ref _family, family);
                return family;
            }
            catch (Exception ex)
            {
                // Typically a name already registered as another type (by the library or the app's own prometheus-net
                // metrics). The instrument stays unexported; the app keeps running.
                _disabled = true;
                Report(Problem.Create, "Observability: the metrics bridge cannot export {0} as {1}; it is skipped: {2}", Describe(), MetricName, ex.Message);
                return null;
            }
        }
    }

    private Collector CreateCollector(ReadOnlySpan<KeyValuePair<string, object?>> tags, out string[] tagKeys)
    {
        var staticLabels = new List<string>();
        foreach (var label in _registry.StaticLabels)
        {
            staticLabels.Add(label.Key);
        }

        var labels = new List<(string Label, string Key)>(tags.Length);
        foreach (var tag in tags)
        {
            if (tag.Key is null)
            {
                continue;
            }

            var label = PrometheusNaming.LabelName(tag.Key, staticLabels);
            if (label.Length > 0)
            {
                labels.Add((label, tag.Key));
            }
        }

        // OpenTelemetry's operation durations carry error.type only when the operation failed, and the label set is fixed
        // by the first measurement (usually a success): without this, the failures (Kestrel's rejected connections, failed
        // HTTP calls, failed commands) would lose the one label that tells them apart. Empty ("absent" in PromQL) otherwise.
        if (Kind == BridgedKind.Histogram && Instrument.Name.EndsWith(".duration", StringComparison.Ordinal) && !labels.Exists(static l => l.Key == ErrorTypeKey))
        {
            labels.Add((PrometheusNaming.LabelName(ErrorTypeKey, staticLabels), ErrorTypeKey));
        }

        // Sorted by label name, then tag key, so two keys that sanitize alike ("a.b", "a_b") resolve the same way on every run:
        // the first in ordinal order keeps the label, the other is dropped.
        labels.Sort(static (x, y) =>
        {
            var byLabel = string.CompareOrdinal(x.Label, y.Label);
            return byLabel != 0 ? byLabel : string.CompareOrdinal(x.Key, y.Key);
        });

        var labelNames = new List<string>(labels.Count);
        var keys = new List<string>(labels.Count);
        foreach (var (label, key) in labels)
        {
            if (labelNames.Count > 0 && labelNames[^1] == label)
            {
                continue;
            }

            labelNames.Add(label);
            keys.Add(key);
        }

        tagKeys = [.. keys];
        string[] names = [.. labelNames];
        var help = PrometheusNaming.EscapeHelp(string.IsNullOrWhiteSpace(Instrument.Description)
            ? Instrument.Meter.Name + " " + Instrument.Name
            : Instrument.Description);

        // Exemplars off: the default provider reads Activity.Current on every increment, and the text format drops them.
        var noExemplars = ExemplarBehavior.NoExemplars();
        return Kind switch
        {
            BridgedKind.Counter or BridgedKind.ObservableCounter => _factory.CreateCounter(MetricName, help, names, new CounterConfiguration { ExemplarBehavior = noExemplars }),
            BridgedKind.Histogram => _factory.CreateHistogram(MetricName, help, names, new HistogramConfiguration { Buckets = _buckets, ExemplarBehavior = noExemplars }),
            _ => _factory.CreateGauge(MetricName, help, names),
        };
    }

    private ChildBase? AddSeries(Family family, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // Checked before the lock too: once the bound is reached every new combination lands here, and it must stay cheap.
        if (Volatile.Read(ref family.SeriesCount) >= _maxSeries)
        {
            ReportCardinality();
            return null;
        }

        lock (_sync)
        {
            var values = new object?[family.TagKeys.Length];
            Family.Fill(family.TagKeys, tags, values);
            if (family.Lookup.TryGetValue(values, out var existing))
            {
                return existing;
            }

            if (family.SeriesCount >= _maxSeries)
            {
                ReportCardinality();
                return null;
            }

            var labelValues = new string[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                labelValues[i] = LabelValue(values[i]);
            }

            ChildBase child = family.Collector switch
            {
                Counter c => c.WithLabels(labelValues),
                Gauge g => g.WithLabels(labelValues),
                Histogram h => h.WithLabels(labelValues),
                _ => throw new InvalidOperationException("Unexpected collector type " + family.Collector.GetType()),
            };

            family.Series[new SeriesKey(values)] = child;
            Volatile.Write(ref family.SeriesCount, family.SeriesCount + 1);
            return child;
        }
    }

    /// <summary>
    /// Label values the way OpenTelemetry's Prometheus exporter writes them (invariant culture, lower-case booleans), with
    /// connection strings cut down to host, port and database.
    /// </summary>
    private static string LabelValue(object? value) => value switch
    {
        null => string.Empty,
        string s => LabelValues.Sanitize(s),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private void ReportInvalid(double value) =>
        Report(Problem.Invalid, "Observability: the metrics bridge ignored the value {0} of counter {1}: counters only go up", value, Describe());

    private void ReportCardinality() =>
        Report(Problem.Cardinality, "Observability: the metrics bridge reached {0} series for {1}; measurements with new tag values are dropped", _maxSeries, Describe());

    private void Report(Problem problem, string format, object? arg0, object? arg1, object? arg2 = null)
    {
        if ((Interlocked.Or(ref _reported, (int)problem) & (int)problem) == 0)
        {
            SelfLog.WriteLine(format, arg0, arg1, arg2);
        }
    }

    private string Describe() => Instrument.Meter.Name + "/" + Instrument.Name;

    /// <summary>The Prometheus metric of the instrument and its series; published once, then read without locks.</summary>
    private sealed class Family
    {
        public Family(Collector collector, string[] tagKeys)
        {
            Collector = collector;
            TagKeys = tagKeys;
            Series = new ConcurrentDictionary<SeriesKey, ChildBase>(SeriesKeyComparer.Instance);
            Lookup = Series.GetAlternateLookup<ReadOnlySpan<object?>>();
            Unlabelled = tagKeys.Length == 0 ? collector switch
            {
                Counter c => c.WithLabels([]),
                Gauge g => g.WithLabels([]),
                Histogram h => h.WithLabels([]),
                _ => null,
            } : null;
        }

        public Collector Collector { get; }

        /// <summary>The tag key feeding each label, in label order.</summary>
        public string[] TagKeys { get; }

        public ChildBase? Unlabelled { get; }

        public ConcurrentDictionary<SeriesKey, ChildBase> Series { get; }

        public ConcurrentDictionary<SeriesKey, ChildBase>.AlternateLookup<ReadOnlySpan<object?>> Lookup { get; }

        // A field so Volatile can take it by reference; written under the binding's lock, read without it.
        public int SeriesCount;

        /// <summary>Puts each tag's value in its label's slot; slots without a tag stay null (exported as <c>""</c>).</summary>
        public static void Fill(string[] keys, ReadOnlySpan<KeyValuePair<string, object?>> tags, Span<object?> values)
        {
            foreach (var tag in tags)
            {
                for (var i = 0; i < keys.Length; i++)
                {
                    if (string.Equals(keys[i], tag.Key, StringComparison.Ordinal))
                    {
                        values[i] = tag.Value;
                        break;
                    }
                }
            }
        }

        /// <summary>The existing series for these tags, or null when it has to be created.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ChildBase? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (Unlabelled is not null)
            {
                return Unlabelled;
            }

            var count = TagKeys.Length;
            if (count <= InlineLabelCount)
            {
                var buffer = default(ValueBuffer);
                Span<object?> values = buffer;
                values = values[..count];
                Fill(TagKeys, tags, values);
                return Lookup.TryGetValue(values, out var child) ? child : null;
            }

            var rented = ArrayPool<object?>.Shared.Rent(count);
            try
            {
                var values = rented.AsSpan(0, count);
                Fill(TagKeys, tags, values);
                return Lookup.TryGetValue(values, out var child) ? child : null;
            }
            finally
            {
                // Cleared so the pool does not keep the app's tag values alive.
                ArrayPool<object?>.Shared.Return(rented, clearArray: true);
            }
        }
    }

    [InlineArray(InlineLabelCount)]
    private struct ValueBuffer
    {
        // The inline array's element, accessed through the span conversion.
        private object? _element;
    }
}

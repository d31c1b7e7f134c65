using System.Runtime.CompilerServices;

namespace Observability.AspNetCore.Metrics.Bridge;

/// <summary>
/// One series of an instrument: its tag values in label order, as the measurement passed them (strings, boxed numbers,
/// null for a missing tag). Keyed by the raw values, not their label strings, so finding an existing series never
/// formats a number; two values that format alike (<c>1</c> and <c>"1"</c>) are two keys for the same Prometheus child.
/// </summary>
internal sealed class SeriesKey(object?[] values)
{
    public object?[] Values { get; } = values;
}

/// <summary>
/// Compares keys with the span of a measurement's values, so the series cache is probed with a stack buffer
/// (<see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}.GetAlternateLookup{TAlternateKey}"/>) and a
/// key is only allocated when a new series is created.
/// </summary>
internal sealed class SeriesKeyComparer : IEqualityComparer<SeriesKey>, IAlternateEqualityComparer<ReadOnlySpan<object?>, SeriesKey>
{
    public static readonly SeriesKeyComparer Instance = new();

    private SeriesKeyComparer()
    {
    }

    public bool Equals(SeriesKey? x, SeriesKey? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && Equals(x.Values, y.Values));

    public int GetHashCode(SeriesKey obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return GetHashCode((ReadOnlySpan<object?>)obj.Values);
    }

    public bool Equals(ReadOnlySpan<object?> alternate, SeriesKey other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Equals(alternate, other.Values);
    }

    public int GetHashCode(ReadOnlySpan<object?> alternate)
    {
        var hash = default(HashCode);
        foreach (var value in alternate)
        {
            // object.GetHashCode is virtual: a boxed int or a string hashes without allocating.
            hash.Add(value?.GetHashCode() ?? 0);
        }

        return hash.ToHashCode();
    }

    public SeriesKey Create(ReadOnlySpan<object?> alternate) => new(alternate.ToArray());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Equals(ReadOnlySpan<object?> x, ReadOnlySpan<object?> y)
    {
        if (x.Length != y.Length)
        {
            return false;
        }

        for (var i = 0; i < x.Length; i++)
        {
            if (!object.Equals(x[i], y[i]))
            {
                return false;
            }
        }

        return true;
    }
}

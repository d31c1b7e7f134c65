using System.Runtime.InteropServices;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>
/// The database commands of one request as the slow-query feature sees them: the shared counts of
/// <see cref="RequestDbStats"/> plus how often each command shape ran (for N+1 detection). Created by the request's
/// first command. The first shape is kept in fields and a dictionary is allocated only when a request runs a second
/// distinct one, so a request that repeats one command allocates nothing after this object.
/// </summary>
internal sealed class RequestQueryStats : RequestDbStats
{
    // A request running more distinct commands than this is not an N+1 candidate for the ones beyond it; the bound
    // keeps a pathological request (a bulk import issuing unique statements) from growing the dictionary without limit.
    internal const int MaxDistinctShapes = 512;

    private string? _lastText;
    private ulong _lastHash;
    private ulong _firstHash;
    private ShapeCount _first;
    private Dictionary<ulong, ShapeCount>? _others;
    private int _maxCount;

    /// <summary>How often the most repeated command shape ran.</summary>
    public int MaxRepeat => Volatile.Read(ref _maxCount);

    public void Add(TimeSpan duration, string? text, DbSystemSeries system, bool countShapes)
    {
        lock (Sync)
        {
            AddCommand(duration);
            if (countShapes && text is not null)
            {
                CountShape(text, system);
            }
        }
    }

    /// <summary>The shapes that ran at least <paramref name="threshold"/> times, in no particular order; empty for most requests.</summary>
    public List<ShapeCount> Repeated(int threshold)
    {
        var result = new List<ShapeCount>();
        lock (Sync)
        {
            if (_first.Count >= threshold)
            {
                result.Add(_first);
            }

            if (_others is not null)
            {
                foreach (var shape in _others.Values)
                {
                    if (shape.Count >= threshold)
                    {
                        result.Add(shape);
                    }
                }
            }
        }

        return result;
    }

    private void CountShape(string text, DbSystemSeries system)
    {
        // EF Core and most data-access code reuse one string instance per command, so a loop hashes its text once.
        ulong hash;
        if (ReferenceEquals(text, _lastText))
        {
            hash = _lastHash;
        }
        else
        {
            hash = SqlText.ShapeHash(text, system.Dialect);
            _lastText = text;
            _lastHash = hash;
        }

        int count;
        if (_first.Count == 0 || _firstHash == hash)
        {
            _firstHash = hash;
            _first = new ShapeCount(_first.Count + 1, _first.Text ?? text, system);
            count = _first.Count;
        }
        else
        {
            _others ??= [];
            if (_others.Count >= MaxDistinctShapes && !_others.ContainsKey(hash))
            {
                return;
            }

            ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_others, hash, out _);
            entry = new ShapeCount(entry.Count + 1, entry.Text ?? text, system);
            count = entry.Count;
        }

        if (count > _maxCount)
        {
            Volatile.Write(ref _maxCount, count);
        }
    }
}

/// <summary>How often one command shape ran in a request, with the text of its first run (never with parameter values).</summary>
internal readonly record struct ShapeCount(int Count, string? Text, DbSystemSeries? System);

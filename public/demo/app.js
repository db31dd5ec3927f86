// The live page: one graphql-ws socket, two subscriptions per user, and buttons that POST to the collector.
const settings = await (await fetch('/demo/settings.json')).json();
const collectorUrl = `${location.protocol}//${location.hostname}:${settings.collectorPort}/v1/events`;
const token = new URLSearchParams(location.search).get('token');
const socket = document.getElementById('socket');
const client = graphqlWs.createClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
  connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: Infinity,
  shouldRetry: () => true,
  on: { connected: () => (socket.textContent = 'open'), closed: (e) => (socket.textContent = `closed (${e.code}), reconnecting`) },
});

const ACTIVITY = `subscription ($id: ID!) { userActivityChanged(userId: $id) {
  activityScore tier features { version counts(window: LAST_5M) { type count } recentItems { item { id } } } } }`;
const RECOMMENDATIONS = `subscription ($id: ID!) { recommendationsChanged(userId: $id, limit: 5) { item { id } reason } }`;

const flash = (el) => { el.classList.remove('changed'); void el.offsetWidth; el.classList.add('changed'); };
const list = (el, texts) => el.replaceChildren(...texts.map((t) => Object.assign(document.createElement('li'), { textContent: t })));

function subscribe(query, id, onData, card) {
  const error = card.querySelector('.error');
  client.subscribe({ query, variables: { id } }, {
    next: ({ data, errors }) => (errors ? (error.textContent = errors.map((e) => e.message).join('; ')) : ((error.textContent = ''), onData(data))),
    error: (e) => (error.textContent = e instanceof Error ? e.message : `socket closed (${e.code ?? 'error'})`),
    complete: () => undefined,
  });
}

function showActivity(card, user) {
  const score = card.querySelector('.score');
  const text = user.activityScore.toFixed(2);
  if (score.textContent !== text) flash(score);
  score.textContent = text;
  const tier = card.querySelector('.tier');
  tier.textContent = user.tier;
  tier.className = `tier ${user.tier}`;
  card.querySelector('.version').textContent = `v${user.features.version}`;
  const count = (type) => String(user.features.counts.find((c) => c.type === type)?.count ?? 0);
  card.querySelector('.views').textContent = count('VIEW');
  card.querySelector('.carts').textContent = count('ADD_TO_CART');
  card.querySelector('.buys').textContent = count('PURCHASE');
  list(card.querySelector('.recent'), user.features.recentItems.slice(0, 8).map((r) => r.item.id));
}

async function send(card, userId, type) {
  const itemId = card.querySelector('.item').value;
  const event = { eventId: crypto.randomUUID(), userId, type, itemId, occurredAt: new Date().toISOString(), source: 'demo-page' };
  const error = card.querySelector('.error');
  try {
    const res = await fetch(collectorUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    error.textContent = res.status === 202 ? '' : `collector answered ${res.status}: ${await res.text()}`;
  } catch (e) {
    error.textContent = `collector unreachable: ${e.message}`;
  }
}

const template = document.getElementById('card');
for (const userId of settings.users) {
  const card = template.content.firstElementChild.cloneNode(true);
  card.dataset.user = userId;
  card.querySelector('.name').textContent = userId;
  card.querySelector('.item').replaceChildren(...settings.items.map((id) => Object.assign(document.createElement('option'), { value: id, textContent: id })));
  for (const button of card.querySelectorAll('button')) button.addEventListener('click', () => send(card, userId, button.dataset.type));
  document.getElementById('users').append(card);
  subscribe(ACTIVITY, userId, (d) => showActivity(card, d.userActivityChanged), card);
  subscribe(RECOMMENDATIONS, userId, (d) => list(card.querySelector('.recs'), d.recommendationsChanged.map((r) => `${r.item.id} (${r.reason.toLowerCase().replace('_', ' ')})`)), card);
}

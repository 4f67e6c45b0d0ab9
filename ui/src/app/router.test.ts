import { describe, expect, it, vi } from 'vitest';

vi.mock('../designer/view', () => ({ mount: () => ({}) }));
vi.mock('../runner/instances', () => ({ mount: () => ({}) }));
vi.mock('../runner/instance', () => ({ mount: () => ({}) }));
vi.mock('../runner/tasks', () => ({ mount: () => ({}) }));
vi.mock('../jobs/view', () => ({ mount: () => ({}) }));
vi.mock('../callbacks/view', () => ({ mount: () => ({}) }));
vi.mock('../webhooks/view', () => ({ mount: () => ({}) }));
vi.mock('../deliveries/view', () => ({ mount: () => ({}) }));

import { match } from './router';

describe('match', () => {
  it('finds each view and its parameters', () => {
    expect(match('#/designer')?.route.title).toBe('Designer');
    expect(match('#/instances')?.route.title).toBe('Instances');
    const one = match('#/instances/3f2a-guid');
    expect(one?.route.title).toBe('Instance');
    expect(one?.params).toEqual({ guid: '3f2a-guid' });
    expect(match('#/tasks')?.route.title).toBe('Tasks');
    expect(match('#/jobs?job=3')?.route.title).toBe('Jobs');
    expect(match('#/callbacks')?.route.title).toBe('Callbacks');
    expect(match('#/webhooks?tab=requests')?.route.title).toBe('Webhooks');
    expect(match('#/deliveries')?.route.title).toBe('Deliveries');
  });

  it('refuses what is not a route', () => {
    expect(match('')).toBeNull();
    expect(match('#/instances/')).toBeNull();
    expect(match('#/nothing')).toBeNull();
  });
});

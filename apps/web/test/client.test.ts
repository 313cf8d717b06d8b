import { describe, expect, it } from 'vitest';
import { ApiError, describeWait, errorMessage } from '../src/api/client.ts';
import { histogram } from '../src/pages/Model.tsx';

describe('API error messages', () => {
  it('explains rate limits with the Retry-After wait', () => {
    expect(errorMessage(429, 'Rate limit exceeded', new Headers({ 'Retry-After': '42' }))).toBe(
      'Too many attempts. Please wait 42 seconds and try again.',
    );
    expect(errorMessage(429, 'Rate limit exceeded', new Headers({ 'Retry-After': '900' }))).toBe(
      'Too many attempts. Please wait 15 minutes and try again.',
    );
  });

  it('adds the lockout time to a 423', () => {
    expect(
      errorMessage(423, 'Account temporarily locked. Try again later.', new Headers({ 'Retry-After': '61' })),
    ).toBe('Account temporarily locked. Try again later. (about 2 minutes)');
  });

  it('turns 422 bodies into field messages', () => {
    const detail = [
      { loc: ['body', 'email'], msg: 'value is not a valid email address', type: 'value_error' },
      {
        loc: ['body', 'password'],
        msg: 'String should have at least 8 characters',
        type: 'string_too_short',
      },
    ];
    expect(errorMessage(422, detail, null)).toBe(
      'email: value is not a valid email address; password: String should have at least 8 characters',
    );
    const err = new ApiError(422, 'x', detail, null);
    expect(err.fieldMessage('password')).toBe('String should have at least 8 characters');
    expect(err.fieldMessage('name')).toBeNull();
  });

  it('keeps handled messages and hides server internals', () => {
    expect(errorMessage(409, 'Email already registered', null)).toBe('Email already registered');
    expect(errorMessage(500, null, null)).toBe('The server had a problem. Please try again in a moment.');
    expect(new ApiError(503, 'm', 'x', new Headers({ 'Retry-After': '60' })).retryAfter).toBe(60);
    expect(describeWait(0.2)).toBe('1 second');
    expect(describeWait(59.6)).toBe('1 minute');
  });
});

describe('score histogram', () => {
  it('gives each class shares that sum to one, clamping the range ends', () => {
    const h = histogram([0, 0.01, 0.5, 0.999, 1, 1.2, -0.1], 10);
    expect(h.length).toBe(10);
    expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(h[0]).toBeCloseTo(3 / 7, 10);
    expect(h[5]).toBeCloseTo(1 / 7, 10);
    expect(h[9]).toBeCloseTo(3 / 7, 10);
  });
});

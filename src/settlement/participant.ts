/**
 * Whether the authenticated participant may instruct as the given agent. A certificate for an
 * 8-character BIC stands for the whole institution, so it may instruct for any of its branches; a
 * certificate for an 11-character BIC stands for that branch alone ("XXX" is the primary office,
 * the same as the 8-character BIC).
 */
export function mayInstructAs(participantBic: string, agentBic: string): boolean {
  const to11 = (bic: string) => (bic.length === 8 ? `${bic}XXX` : bic);
  if (participantBic.slice(0, 8) !== agentBic.slice(0, 8)) return false;
  return participantBic.length === 8 || to11(participantBic) === to11(agentBic);
}

/** Test data helpers with no dependency on workerd, shared by the vitest suite and the Node e2e scripts. */

/** An appointment `days` ahead at `hour:minute` India time, in the user app's format ("02:30 PM"). */
export function istSlot(days: number, hour = 10, minute = 0): { appointmentDate: string; appointmentTime: string } {
  const istNow = new Date(Date.now() + 330 * 60_000);
  const d = new Date(Date.UTC(istNow.getUTCFullYear(), istNow.getUTCMonth(), istNow.getUTCDate() + days));
  const h12 = hour % 12 === 0 ? 12 : hour % 12;
  return {
    appointmentDate: d.toISOString().slice(0, 10),
    appointmentTime: `${String(h12).padStart(2, "0")}:${String(minute).padStart(2, "0")} ${hour < 12 ? "AM" : "PM"}`,
  };
}

/** Export the open diagram as SVG or PNG (the SVG drawn on a canvas). */

/** Renders SVG text to a PNG blob at `scale` (2 = crisp on high-density screens). */
export async function svgToPng(svg: string, scale = 2): Promise<Blob> {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement;
  const viewBox = (root.getAttribute('viewBox') ?? '').split(/[\s,]+/).map(Number);
  const width = Number.parseFloat(root.getAttribute('width') ?? '') || viewBox[2] || 800;
  const height = Number.parseFloat(root.getAttribute('height') ?? '') || viewBox[3] || 600;
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.decoding = 'async';
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () => reject(new Error('the diagram could not be drawn as an image'));
      image.src = url;
    });
    const canvas = document.createElement('canvas');
    // Browsers cap canvas sizes; keep within 16k pixels a side.
    const s = Math.min(scale, 16000 / width, 16000 / height);
    canvas.width = Math.max(1, Math.round(width * s));
    canvas.height = Math.max(1, Math.round(height * s));
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser cannot draw on a canvas');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG could not be encoded'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** `PaymentApprovalProcess.bpmn` → `PaymentApprovalProcess.svg`. */
export function exportName(fileName: string, ext: 'svg' | 'png'): string {
  return `${fileName.replace(/\.(bpmn|xml)$/i, '') || 'diagram'}.${ext}`;
}

/** The file-transcription pages: one lazily loaded chunk (web/src/components/JobsRoute.tsx). */
import './jobs.css';

export { JobPage } from './JobPage';
export { JobsPage } from './JobsPage';
export { UploadPage } from './UploadPage';

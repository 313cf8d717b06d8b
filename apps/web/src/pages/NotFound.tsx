import { Link } from 'react-router-dom';
import { usePageTitle } from '../components/ui.tsx';

export function NotFoundPage() {
  usePageTitle('Page not found');
  return (
    <section className="narrow center">
      <h1>Page not found</h1>
      <p>The page you were looking for does not exist or has moved.</p>
      <Link className="button" to="/">
        Go to the home page
      </Link>
    </section>
  );
}
